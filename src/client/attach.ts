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
import { RalphError, ExitCode } from '../errors.js';
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
}

export type AttachEnd =
  | { kind: 'detached' }
  | { kind: 'ended'; status: string; reason: string | null }
  | { kind: 'lost'; reason: string };

interface AttachEvents {
  data: [Buffer, number];
  state: [Partial<StatusSnapshot>];
  /** Keystrokes sent with `type` were not taken, and why (binary framing; reported once per reason). */
  dropped: [string];
  end: [AttachEnd];
}

export class AttachSession extends EventEmitter<AttachEvents> {
  readonly session: SessionRecord;
  readonly client: RpcClient;
  status: StatusSnapshot;
  /** The next byte offset expected from the loop. */
  nextOffset: number;
  private ended = false;
  /** What happened before `open` returned, delivered once the caller could add listeners. */
  private held: (() => void)[] | null = [];

  private constructor(session: SessionRecord, client: RpcClient, status: StatusSnapshot, from: number) {
    super();
    this.session = session;
    this.client = client;
    this.status = status;
    this.nextOffset = from;
  }

  static async open(
    task: string,
    options: AttachOpenOptions = {},
    paths: RalphPaths = ralphPaths(),
  ): Promise<AttachSession> {
    const session = findLiveSession(task, paths);
    const client = await connectSession(session, { requestTimeoutMs: 10_000 });
    try {
      return await AttachSession.begin(session, client, options);
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
  ): Promise<AttachSession> {
    const status = await client.request('get_status');
    const from = await resolveFrom(client, options.from ?? 'iteration', status.log_end_offset);
    const attach = new AttachSession(session, client, status, from);
    client.onEvent((event) => attach.whenOpen(() => attach.onEvent(event)));
    client.on('terminal', (data) => {
      if (attach.held === null) attach.deliver(data);
      else attach.held.push(() => attach.deliver(data));
    });
    client.on('close', (reason) => attach.whenOpen(() => attach.finish({ kind: 'lost', reason })));
    if (options.watchState !== false) await client.request('subscribe', { events: ['state_change'] });
    await attachStream(client, from, options.framing ?? 'binary', options.about ?? describeThisClient());
    // Replay may arrive with the attach response; hold it until the caller has had a turn to listen.
    setImmediate(() => attach.release());
    return attach;
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
    if (!this.client.closed)
      // Telling the loop is a courtesy: the connection closes next, which detaches it anyway.
      await this.client.request('detach', {}, { timeoutMs: 2000 }).catch(() => undefined);
    this.finish({ kind: 'detached' });
  }

  private finish(end: AttachEnd): void {
    if (this.ended) return;
    this.ended = true;
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
