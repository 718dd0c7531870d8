/**
 * The fleet: every loop in the registry, kept current. The registry is read on a timer (loops started or
 * ended elsewhere show up); each running local loop has one connection for its live events; the sessions of
 * a remote share one link to that remote. Nothing here waits on the network without a timeout, and nothing
 * here renders: the TUI listens for `change` and reads `rows()`.
 */
import { EventEmitter } from 'node:events';
import { ralphPaths, type RalphPaths } from '../../config/paths.js';
import { errorMessage } from '../../errors.js';
import type { MethodName, ParamsInputOf, ResultOf, RpcClient } from '../../protocol/index.js';
import {
  isTerminal,
  reconcile,
  Registry,
  type ReconcileReport,
  type SessionRecord,
} from '../../registry/index.js';
import { connectSession } from '../connect.js';
import { reconcileAll } from '../status.js';
import { UsageCache } from '../usage.js';
import { remoteOfSession } from '../remote/open-loop.js';
import { closeZitiContexts } from '../remote/daemon-client.js';
import { applyRemoteLoops } from '../remote/remote-status.js';
import { loadRemotes, type Remote } from '../remote/remotes.js';
import type { LoopSummary } from '../remote/daemon-types.js';
import { readDetail, type DetailOptions } from './detail.js';
import { LoopLink } from './link.js';
import { RemoteLink } from './remote-link.js';
import { sortRows, toRow } from './rows.js';
import type { FleetRow, LoopDetail } from './types.js';

/** How often, at most, the rows change for the view: four times a second. */
const CHANGE_BATCH_MS = 250;

export interface FleetOptions {
  paths?: RalphPaths;
  /** How often the registry is read again; default 1000 ms. */
  pollMs?: number;
  /** Bound on every request the fleet makes; default 3000 ms. */
  requestTimeoutMs?: number;
  /** Bound on opening a connection; default 2000 ms. */
  connectTimeoutMs?: number;
  /** Opens a connection to a loop; default `connectSession`. */
  connect?: (session: SessionRecord) => Promise<RpcClient>;
}

interface FleetEvents {
  change: [];
  /** Something went wrong that the user should see (the fleet keeps going). */
  problem: [string];
}

export class Fleet extends EventEmitter<FleetEvents> {
  readonly paths: RalphPaths;
  private readonly registry: Registry;
  private readonly usage: UsageCache;
  private readonly pollMs: number;
  private readonly requestTimeoutMs: number;
  private readonly connect: (session: SessionRecord) => Promise<RpcClient>;
  private sessions: SessionRecord[] = [];
  private readonly links = new Map<number, LoopLink>();
  private readonly remotes = new Map<string, RemoteLink>();
  /** Remotes that rows name but that cannot be dialled at all (not configured, no identity), and why. */
  private readonly unusable = new Map<string, string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private changeTimer: NodeJS.Timeout | null = null;
  private reconciling: Promise<unknown> | null = null;
  private closed = false;
  private starting: Promise<ReconcileReport> | null = null;

  constructor(options: FleetOptions = {}) {
    super();
    this.paths = options.paths ?? ralphPaths();
    this.registry = Registry.open(this.paths.registryFile);
    this.usage = new UsageCache(this.paths);
    this.pollMs = options.pollMs ?? 1000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.connect =
      options.connect ??
      ((session) =>
        connectSession(session, { timeoutMs: connectTimeoutMs, requestTimeoutMs: this.requestTimeoutMs }));
  }

  /** Reconciles the registry as `ralph status` does, then starts following it. Later calls share the first. */
  start(): Promise<ReconcileReport> {
    this.starting ??= reconcileAll(this.registry, this.paths).then(({ reconciled: report }) => {
      this.refresh();
      if (!this.closed) {
        this.pollTimer = setInterval(() => this.refresh(), this.pollMs);
        this.pollTimer.unref();
      }
      return report;
    });
    return this.starting;
  }

  /** Whether `start` has been called. */
  get started(): boolean {
    return this.starting !== null;
  }

  rows(): FleetRow[] {
    const rows = this.sessions.map((s) => {
      if (s.remoteName !== null) {
        const remote = this.remotes.get(s.remoteName);
        if (isTerminal(s.status)) return toRow(s, undefined, { state: 'ended' });
        if (!remote) {
          const reason = this.unusable.get(s.remoteName) ?? `remote ${s.remoteName} is not linked yet`;
          return toRow(s, undefined, { state: 'unreachable', reason });
        }
        // The registry row says what the remote last listed; the link says whether it can be reached now.
        return toRow(s, undefined, remote.health);
      }
      const link = this.links.get(s.id);
      return toRow(s, link?.live, link ? link.health : { state: 'ended' }, this.usage.of(s));
    });
    return sortRows(rows);
  }

  /** A request to one loop, over its open connection or a fresh one; bounded by the request timeout. */
  async request<M extends MethodName>(
    row: FleetRow,
    method: M,
    params?: ParamsInputOf<M>,
  ): Promise<ResultOf<M>> {
    const link = this.links.get(row.session.id);
    if (link?.health.state === 'live') return link.request(method, params);
    const client = await this.connect(row.session);
    try {
      return await client.request(method, params, { timeoutMs: this.requestTimeoutMs });
    } finally {
      client.close();
      this.refreshSoon();
    }
  }

  /**
   * The selected loop's screen, history and stories (and its last transcript when asked): from the loop while
   * it runs, from its files after.
   */
  detail(row: FleetRow, scrollback: number, options: DetailOptions = {}): Promise<LoopDetail> {
    const link = this.links.get(row.session.id);
    return readDetail(row, link?.health.state === 'live' ? link : null, this.paths, scrollback, options);
  }

  /** Reads the registry again now (after starting or stopping a loop, say). */
  refreshSoon(): void {
    setImmediate(() => this.refresh());
  }

  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    for (const link of this.links.values()) link.close();
    for (const remote of this.remotes.values()) remote.close();
    if (this.remotes.size > 0) void closeZitiContexts();
    this.links.clear();
    this.remotes.clear();
    this.registry.close();
  }

  private refresh(): void {
    if (this.closed) return;
    let sessions: SessionRecord[];
    try {
      sessions = this.registry.list();
    } catch (err) {
      this.emit('problem', `cannot read the registry: ${errorMessage(err)}`);
      return;
    }
    const changed =
      sessions.length !== this.sessions.length ||
      sessions.some((s, i) => s.id !== this.sessions[i]?.id || s.updatedAt !== this.sessions[i]?.updatedAt);
    this.sessions = sessions;
    this.syncLinks();
    if (changed) this.changed();
  }

  /**
   * One link per running local loop, and one per remote: every configured remote (to learn of loops started
   * elsewhere) and any other remote with running rows. Ended loops need none.
   */
  private syncLinks(): void {
    const wanted = new Set<number>();
    const wantedRemotes = new Map<string, Remote>();
    for (const remote of this.configuredRemotes()) wantedRemotes.set(remote.name, remote);
    for (const s of this.sessions) {
      if (isTerminal(s.status)) continue;
      if (s.remoteName !== null) {
        if (!wantedRemotes.has(s.remoteName)) {
          try {
            wantedRemotes.set(s.remoteName, remoteOfSession(s));
          } catch (err) {
            this.unusable.set(s.remoteName, `cannot reach remote ${s.remoteName}: ${errorMessage(err)}`);
          }
        }
        continue;
      }
      wanted.add(s.id);
      const link = this.links.get(s.id);
      if (link) link.session = s;
      else this.links.set(s.id, this.newLink(s));
    }
    for (const [id, link] of this.links) {
      if (!wanted.has(id)) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const [name, remote] of this.remotes) {
      const want = wantedRemotes.get(name);
      if (
        want === undefined ||
        want.service !== remote.remote.service ||
        want.identity !== remote.remote.identity
      ) {
        remote.close();
        this.remotes.delete(name);
      }
    }
    for (const [name, remote] of wantedRemotes) {
      if (!this.remotes.has(name)) {
        this.remotes.set(
          name,
          new RemoteLink(remote, {
            onChange: () => this.changed(),
            onLoops: (r, loops) => this.recordRemote(r, loops),
            timeoutMs: this.requestTimeoutMs,
          }),
        );
      }
    }
  }

  private configuredRemotes(): Remote[] {
    try {
      return loadRemotes(this.paths);
    } catch (err) {
      this.emit('problem', errorMessage(err));
      return [];
    }
  }

  /** A remote's list: its rows in the registry updated, new ones added; the view follows on the next read. */
  private recordRemote(remote: Remote, loops: LoopSummary[]): void {
    if (this.closed) return;
    applyRemoteLoops(this.registry, remote, loops)
      .then(() => this.refreshSoon())
      .catch((err: unknown) => this.emit('problem', `remote ${remote.name}: ${errorMessage(err)}`));
  }

  private newLink(session: SessionRecord): LoopLink {
    return new LoopLink(session, {
      connect: this.connect,
      requestTimeoutMs: this.requestTimeoutMs,
      onChange: () => this.changed(),
      onLost: () => this.checkLost(),
    });
  }

  /** A dropped connection: the loop ended (the registry says so) or died (reconciling finds out). */
  private checkLost(): void {
    this.refresh();
    if (this.reconciling || this.closed) return;
    this.reconciling = reconcile(this.registry)
      .catch((err: unknown) => this.emit('problem', `reconcile failed: ${errorMessage(err)}`))
      .finally(() => {
        this.reconciling = null;
        this.refresh();
      });
  }

  /**
   * Changes are batched: a loop printing fast must not redraw the screen for every line, and thirty chatty
   * loops must not redraw it twenty times a second (bench/fleet.mjs: the TUI's CPU follows this rate).
   */
  private changed(): void {
    if (this.changeTimer || this.closed) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      if (!this.closed) this.emit('change');
    }, CHANGE_BATCH_MS);
  }
}
