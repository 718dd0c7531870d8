/**
 * The client half of `attach`: replay from an offset, then live bytes, with a check that every byte arrives
 * exactly once; keystrokes through the writer lease; resize. The terminal handling lives in the CLI.
 *
 * By default the connection switches to binary frames, so terminal bytes travel raw both ways (offsets are
 * counted from the attach offset); `framing: 'ndjson'` keeps base64 `pty` events and `write_pty` requests.
 */
import { EventEmitter } from 'node:events';
import { readlinkSync } from 'node:fs';
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { RalphError, ExitCode, errorMessage } from '../errors.js';
import {
  RpcError,
  isEventOf,
  type Framing,
  type RpcClient,
  type StatusSnapshot,
  type WireEvent,
} from '../protocol/index.js';
import type { SessionRecord } from '../registry/index.js';
import { connectSession } from './connect.js';
import { findLiveSession } from './session-call.js';

export type AttachFrom = number | 'iteration' | 'start' | 'end';

export interface AttachOpenOptions {
  from?: AttachFrom;
  /** Subscribe to state changes (to learn when the loop ends). */
  watchState?: boolean;
  /** How terminal bytes travel: raw in binary frames (the default), or base64 in NDJSON events. */
  framing?: Framing;
  /** Who this client is, for people (the keyboard's holder is shown so); defaults to pid and terminal. */
  about?: string;
  /**
   * Waits between attempts to reconnect after the connection drops while the loop runs; the number of entries
   * bounds the attempts. Default: a remote loop (over the overlay) retries for about a minute and a half,
   * a local one not at all (its connection only drops when its runner is gone).
   */
  reconnectDelaysMs?: readonly number[];
  /** Opens a connection to the loop; default `connectSession`. */
  connect?: (session: SessionRecord) => Promise<RpcClient>;
}

/** A remote attach that loses the overlay tries again after these waits (about 95 s in all). */
export const REMOTE_RECONNECT_DELAYS_MS: readonly number[] = [
  250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000,
];

export type AttachEnd =
  | { kind: 'detached' }
  | { kind: 'ended'; status: string; reason: string | null }
  | { kind: 'lost'; reason: string };

interface AttachEvents {
  data: [Buffer, number];
  state: [Partial<StatusSnapshot>];
  /** Keystrokes sent with `type` were not taken, and why (binary framing; reported once per reason). */
  dropped: [string];
  /** The connection dropped; attempt `attempt` comes after `delayMs`. */
  reconnecting: [{ attempt: number; delayMs: number; reason: string }];
  /** Attached again, resuming at byte `offset`. */
  reconnected: [{ offset: number }];
  end: [AttachEnd];
}

interface Wiring {
  framing: Framing;
  about: string;
  watchState: boolean;
  delays: readonly number[];
  connect: (session: SessionRecord) => Promise<RpcClient>;
}

export class AttachSession extends EventEmitter<AttachEvents> {
  readonly session: SessionRecord;
  /** The connection in use (a new one after each reconnect). */
  client: RpcClient;
  status: StatusSnapshot;
  /** The next byte offset expected from the loop. */
  nextOffset: number;
  private ended = false;
  private detaching = false;
  /** What happened before `open` returned, delivered once the caller could add listeners. */
  private held: (() => void)[] | null = [];
  private readonly wiring: Wiring;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Set while a reconnect is under way: a drop of the new connection is that attempt's failure. */
  private reconnecting = false;

  private constructor(
    session: SessionRecord,
    client: RpcClient,
    status: StatusSnapshot,
    from: number,
    wiring: Wiring,
  ) {
    super();
    this.session = session;
    this.client = client;
    this.status = status;
    this.nextOffset = from;
    this.wiring = wiring;
  }

  static async open(
    task: string,
    options: AttachOpenOptions = {},
    paths: RalphPaths = ralphPaths(),
  ): Promise<AttachSession> {
    const session = findLiveSession(task, paths);
    const connect =
      options.connect ?? ((s: SessionRecord) => connectSession(s, { requestTimeoutMs: 10_000 }));
    const client = await connect(session);
    try {
      return await AttachSession.begin(session, client, options, connect);
    } catch (err) {
      // A refused start (an offset past the end, say) must not leave the connection holding the process open.
      client.close();
      throw err;
    }
  }

  private static async begin(
    session: SessionRecord,
    client: RpcClient,
    options: AttachOpenOptions,
    connect: (session: SessionRecord) => Promise<RpcClient>,
  ): Promise<AttachSession> {
    const status = await client.request('get_status');
    const from = await resolveFrom(client, options.from ?? 'iteration', status.log_end_offset);
    const attach = new AttachSession(session, client, status, from, {
      framing: options.framing ?? 'binary',
      about: options.about ?? describeThisClient(),
      watchState: options.watchState !== false,
      delays: options.reconnectDelaysMs ?? (session.transport === 'ziti' ? REMOTE_RECONNECT_DELAYS_MS : []),
      connect,
    });
    await attach.wire(client);
    // Replay may arrive with the attach response; hold it until the caller has had a turn to listen.
    setImmediate(() => attach.release());
    return attach;
  }

  /** Listens to `client` and attaches from the next expected byte: the same calls first and after a reconnect. */
  private async wire(client: RpcClient): Promise<void> {
    client.onEvent((event) => {
      if (client === this.client) this.whenOpen(() => this.onEvent(event));
    });
    client.on('terminal', (data) => {
      if (client !== this.client) return;
      if (this.held === null) this.deliver(data);
      else this.held.push(() => this.deliver(data));
    });
    client.on('close', (reason) => {
      if (client === this.client) this.whenOpen(() => this.onDrop(reason));
    });
    if (this.wiring.watchState) await client.request('subscribe', { events: ['state_change'] });
    await attachStream(client, this.nextOffset, this.wiring.framing, this.wiring.about);
  }

  /** The connection dropped while the loop was not known to have ended: reconnect if allowed, else lost. */
  private onDrop(reason: string): void {
    if (this.ended) return;
    if (this.detaching || this.wiring.delays.length === 0) return this.finish({ kind: 'lost', reason });
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.scheduleReconnect(0, reason);
  }

  private scheduleReconnect(attempt: number, reason: string): void {
    const delayMs = this.wiring.delays[attempt];
    if (delayMs === undefined) {
      return this.finish({
        kind: 'lost',
        reason: `${reason} (gave up after ${attempt} reconnect attempt${attempt === 1 ? '' : 's'})`,
      });
    }
    this.emit('reconnecting', { attempt: attempt + 1, delayMs, reason });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect(attempt, reason);
    }, delayMs);
  }

  private async reconnect(attempt: number, previous: string): Promise<void> {
    if (this.ended) return;
    let client: RpcClient | null = null;
    try {
      client = await this.wiring.connect(this.session);
      if (this.ended) return client.close();
      const status = await client.request('get_status');
      Object.assign(this.status, status);
      if (status.interactive_mode === false) this.emit('state', { interactive_mode: false });
      this.client = client;
      await this.wire(client);
      this.reconnecting = false;
      this.emit('reconnected', { offset: this.nextOffset });
    } catch (err) {
      const reason = errorMessage(err);
      client?.close();
      // The daemon answered but the loop is not there to reattach to: trying again will not change that.
      if (err instanceof RpcError && err.kind !== 'CONNECTION_CLOSED' && err.kind !== 'REQUEST_TIMEOUT') {
        return this.finish({ kind: 'lost', reason: `${previous}; reconnecting failed: ${reason}` });
      }
      this.scheduleReconnect(attempt + 1, reason);
    }
  }

  private whenOpen(fn: () => void): void {
    if (this.held === null) fn();
    else this.held.push(fn);
  }

  private release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const fn of held) fn();
  }

  /** Bytes of a terminal frame: the next ones of the log, in order (one connection, one stream). */
  private deliver(data: Buffer): void {
    if (this.ended) return;
    const at = this.nextOffset;
    this.nextOffset += data.length;
    this.emit('data', data, at);
  }

  private onEvent(event: WireEvent): void {
    if (isEventOf(event, 'pty')) {
      const data = Buffer.from(event.data.data, 'base64');
      const { offset } = event.data;
      if (offset > this.nextOffset) {
        this.finish({ kind: 'lost', reason: `output gap: expected byte ${this.nextOffset}, got ${offset}` });
        return;
      }
      const fresh = data.subarray(this.nextOffset - offset);
      if (fresh.length === 0) return;
      const at = this.nextOffset;
      this.nextOffset += fresh.length;
      this.emit('data', fresh, at);
    } else if (isEventOf(event, 'state_change')) {
      Object.assign(this.status, event.data);
      this.emit('state', event.data);
    } else if (isEventOf(event, 'input_dropped')) {
      this.emit('dropped', event.data.reason);
    } else if (isEventOf(event, 'disconnect')) {
      const status = this.status.status;
      if (['completed', 'exhausted', 'failed', 'stopped', 'stalled', 'budget_exceeded'].includes(status)) {
        this.finish({ kind: 'ended', status, reason: this.status.exit_reason });
      } else {
        this.finish({ kind: 'lost', reason: event.data.reason });
      }
    }
  }

  async setInteractive(enabled: boolean): Promise<boolean> {
    const result = await this.client.request('set_interactive_mode', { enabled });
    return result.interactive_mode;
  }

  /** Sends keystrokes and waits for the loop's answer (forwarded, or ignored and why). */
  async write(data: string): Promise<{ status: string; reason?: string }> {
    return this.client.request('write_pty', { data });
  }

  /**
   * Sends keystrokes without waiting for an answer, as a terminal does: the fast path while this client holds
   * the keyboard (a terminal frame, or a `write_pty` notification over NDJSON). Keys the loop does not take
   * are dropped (reported as `dropped` over binary frames); losing the keyboard shows up as a `state` change
   * of `interactive_mode`.
   */
  type(data: string | Buffer): void {
    if (this.client.closed) return;
    if (this.client.framing === 'binary') this.client.sendTerminal(data);
    else this.client.notify('write_pty', { data: typeof data === 'string' ? data : data.toString('utf8') });
  }

  async resize(cols: number, rows: number): Promise<void> {
    await this.client.request('resize', { cols, rows });
  }

  async detach(): Promise<void> {
    this.detaching = true;
    if (!this.client.closed)
      // Telling the loop is a courtesy: the connection closes next, which detaches it anyway.
      await this.client.request('detach', {}, { timeoutMs: 2000 }).catch(() => undefined);
    this.finish({ kind: 'detached' });
  }

  private finish(end: AttachEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.client.close();
    this.emit('end', end);
  }
}

/**
 * Sends `attach`, saying who this client is (`about`, shown to others as the keyboard's holder). A runner
 * started by an older ralph refuses fields it does not know (`framing`, `client`): then it attaches again
 * without them, over `pty` events if `framing` was one. Returns the framing in use.
 */
export async function attachStream(
  client: RpcClient,
  from: number,
  framing: Framing,
  about?: string,
): Promise<Framing> {
  const params: { from_offset: number; framing?: Framing; client?: string } = { from_offset: from };
  if (framing === 'binary') params.framing = framing;
  if (about !== undefined) params.client = about;
  try {
    await client.request('attach', params);
  } catch (err) {
    const unknown = unknownFields(err);
    if (unknown.length === 0 || !unknown.every((f) => f === 'framing' || f === 'client')) throw err;
    if (unknown.includes('framing')) delete params.framing;
    if (unknown.includes('client')) delete params.client;
    await client.request('attach', params);
  }
  return params.framing ?? 'ndjson';
}

/** The fields an INVALID_PARAMS error names as unknown. */
function unknownFields(err: unknown): string[] {
  if (!(err instanceof RpcError) || err.kind !== 'INVALID_PARAMS') return [];
  const issues = (err.data as { issues?: { path?: unknown; message?: unknown }[] } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues
    .filter((issue) => issue.message === 'unknown field' && typeof issue.path === 'string')
    .map((issue) => issue.path as string);
}

/** How this process names itself to a loop: its pid and, when it has one, its terminal. */
export function describeThisClient(): string {
  let tty: string | null = null;
  try {
    const link = readlinkSync('/proc/self/fd/0');
    if (/^\/dev\/(pts\/\d+|tty\w*)$/.test(link)) tty = link;
  } catch {
    // No /proc (macOS, BSD): the pid alone.
  }
  return tty === null ? `pid ${process.pid}` : `pid ${process.pid} on ${tty}`;
}

async function resolveFrom(client: RpcClient, from: AttachFrom, end: number): Promise<number> {
  if (typeof from === 'number') {
    if (from > end) {
      throw new RalphError('OFFSET_OUT_OF_RANGE', `offset ${from} is past the end of the log (${end})`, {
        exitCode: ExitCode.usage,
      });
    }
    return from;
  }
  if (from === 'start') return 0;
  if (from === 'end') return end;
  const { iterations } = await client.request('get_iterations');
  return iterations.at(-1)?.start_offset ?? 0;
}
