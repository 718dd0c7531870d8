/**
 * Feeding the event journal: the daemon watches every live loop of the box (one `subscribe` connection for
 * `state_change`) and records its start, its status changes and its end; a loop that ended while nobody
 * watched (the daemon was down) gets its end recorded once, from the registry, at the next sweep.
 */
import { connectSession } from '../client/connect.js';
import { errorMessage } from '../errors.js';
import type { Logger, RpcClient } from '../protocol/index.js';
import { isTerminal, Registry, type SessionRecord } from '../registry/index.js';
import type { LoopManager } from './loops.js';
import type { EventJournal } from './trust-hooks.js';

/** How often live loops nobody watches yet (started by plain `ralph start`) are looked for. */
export const SWEEP_INTERVAL_MS = 10_000;

interface Watched {
  session: SessionRecord;
  status: string;
  client: RpcClient | null;
}

export class LoopWatcher {
  private readonly watched = new Map<number, Watched>();
  /** Runner sockets this watcher holds a subscribed connection to, with how many. */
  private readonly connected = new Map<string, number>();
  /** Loop ids the journal has a start for, and those it has an end for. */
  private readonly started = new Set<string>();
  private readonly ended = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly loops: LoopManager,
    private readonly journal: EventJournal,
    private readonly log: Logger,
  ) {
    loops.holdsConnection = (address) => this.connected.has(address);
    for (const entry of journal.since(0)) {
      const id = (entry.data as { loop_id?: unknown } | null)?.loop_id;
      if (typeof id !== 'string') continue;
      if (entry.type === 'loop_started') this.started.add(id);
      if (entry.type === 'loop_completed' || entry.type === 'loop_failed' || entry.type === 'loop_lost')
        this.ended.add(id);
    }
  }

  /** Sweeps now and then every `intervalMs`. */
  start(intervalMs = SWEEP_INTERVAL_MS): Promise<void> {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
    return this.sweep();
  }

  /** Records a loop the daemon itself just started. */
  track(session: SessionRecord): void {
    this.recordStart(session);
    if (!isTerminal(session.status)) this.watch(session);
    else this.recordEnd(session);
  }

  /** Records a loop found lost (no runner to account for it). */
  lost(session: SessionRecord): void {
    const id = String(session.id);
    if (this.ended.has(id)) return;
    this.ended.add(id);
    this.journal.append('loop_lost', session.task, endData(session));
  }

  /**
   * Looks at every local row: live ones not watched yet are watched, and a loop the journal saw start whose
   * row has ended gets its end recorded (once).
   */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepNow().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async sweepNow(): Promise<void> {
    if (this.closed) return;
    let rows: SessionRecord[];
    try {
      await this.loops.list();
      const registry = Registry.open(this.loops.paths.registryFile);
      try {
        rows = registry.list({ all: true }).filter((s) => s.location === 'local');
      } finally {
        registry.close();
      }
    } catch (err) {
      this.log('loop sweep failed', { error: errorMessage(err) });
      return;
    }
    for (const row of rows) {
      const id = String(row.id);
      if (isTerminal(row.status)) {
        if (this.started.has(id) && !this.ended.has(id)) this.recordEnd(row);
        continue;
      }
      if (!this.watched.has(row.id)) {
        this.recordStart(row);
        this.watch(row);
      }
    }
  }

  private recordStart(session: SessionRecord): void {
    const id = String(session.id);
    if (this.started.has(id)) return;
    this.started.add(id);
    this.journal.append('loop_started', session.task, {
      task: session.task,
      loop_id: id,
      status: session.status,
      task_dir: session.taskDir,
      agent: session.agent,
    });
  }

  private recordEnd(session: SessionRecord): void {
    const id = String(session.id);
    if (this.ended.has(id)) return;
    this.ended.add(id);
    const type = session.status === 'completed' ? 'loop_completed' : 'loop_failed';
    this.journal.append(type, session.task, endData(session));
  }

  private watch(session: SessionRecord): void {
    if (this.closed || this.watched.has(session.id)) return;
    const entry: Watched = { session, status: session.status, client: null };
    this.watched.set(session.id, entry);
    void this.connect(entry);
  }

  private async connect(entry: Watched): Promise<void> {
    const { session } = entry;
    try {
      const client = await connectSession(session, { timeoutMs: 3000 });
      entry.client = client;
      if (this.closed) client.close();
      client.on('event', (event) => {
        if (event.type !== 'state_change') return;
        const status = (event.data as { status?: unknown } | null)?.status;
        if (typeof status !== 'string' || status === entry.status) return;
        this.journal.append('state_change', session.task, {
          task: session.task,
          loop_id: String(session.id),
          from: entry.status,
          to: status,
        });
        entry.status = status;
      });
      let counted = false;
      client.on('close', () => {
        if (counted) this.uncount(session.address);
        this.settle(entry);
      });
      await client.request('subscribe', { events: ['state_change'] });
      if (!client.closed) {
        counted = true;
        this.connected.set(session.address, (this.connected.get(session.address) ?? 0) + 1);
      }
    } catch (err) {
      this.log('cannot watch loop', { task: session.task, error: errorMessage(err) });
      this.settle(entry);
    }
  }

  private uncount(address: string): void {
    const left = (this.connected.get(address) ?? 1) - 1;
    if (left > 0) this.connected.set(address, left);
    else this.connected.delete(address);
  }

  /** A watch ended: the loop's row says how it ended (reconciled, so a runner gone without a word counts). */
  private settle(entry: Watched): void {
    if (this.watched.get(entry.session.id) !== entry) return;
    this.watched.delete(entry.session.id);
    if (this.closed) return;
    // The runner writes its final row just before it closes its socket; give it a moment, then reconcile.
    setTimeout(() => void this.settleLater(entry.session.id), 200).unref();
  }

  private async settleLater(id: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.loops.list();
      const row = this.loops.session(id);
      if (row === undefined) return;
      // Still open: the next sweep looks again (a runner that stopped answering is found by reconciling).
      if (isTerminal(row.status)) this.recordEnd(row);
    } catch (err) {
      this.log('cannot settle loop', { id, error: errorMessage(err) });
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const entry of this.watched.values()) entry.client?.close();
    this.watched.clear();
    this.connected.clear();
    this.loops.holdsConnection = () => false;
  }
}

function endData(session: SessionRecord): Record<string, unknown> {
  return {
    task: session.task,
    loop_id: String(session.id),
    status: session.status,
    exit_reason: session.exitReason,
    iteration: session.iteration,
  };
}
