/**
 * Feeds attached connections from the output log. Each attached connection has a cursor (the next byte it
 * needs); replay and live output are the same path: read from the cursor, send, advance. So a client that
 * attaches from offset N receives every byte from N on exactly once, however the replay and new output
 * interleave, and a slow reader only falls behind, it never makes the loop buffer.
 */
import type { RpcConnection } from '../../protocol/connection.js';
import { ptyEventLine } from '../../protocol/event-method.js';
import { FRAME_TERMINAL, encodeFrame } from '../../protocol/frames.js';
import type { OutputLog } from '../output-log.js';

/** Bytes read from the log per `pty` event. */
const CHUNK_BYTES = 64 * 1024;
/** Stop feeding a connection while this much is still queued for it. */
const WINDOW_BYTES = 1024 * 1024;
/**
 * Live output goes straight out while a connection keeps up; past this much queued it waits for 'drain' and
 * then catches up from the log in large chunks (fewer, bigger events when the reader is the bottleneck).
 */
const LIVE_QUEUE_BYTES = 64 * 1024;

export class AttachFeed {
  private readonly cursors = new Map<RpcConnection, number>();
  private readonly waiting = new Set<RpcConnection>();
  private pumpScheduled = false;
  private readonly caughtUpWaiters = new Map<RpcConnection, (() => void)[]>();

  constructor(private readonly log: OutputLog) {}

  attach(conn: RpcConnection, fromOffset: number): void {
    this.cursors.set(conn, fromOffset);
  }

  detach(conn: RpcConnection): boolean {
    this.waiting.delete(conn);
    this.settle(conn);
    return this.cursors.delete(conn);
  }

  /**
   * Resolves once every attached connection has been sent the whole log (or has gone), or after `timeoutMs`,
   * so a loop that ends does not cut off a reader that fell behind.
   */
  async caughtUp(timeoutMs: number): Promise<void> {
    const behind = [...this.cursors].filter(([, cursor]) => cursor < this.log.end).map(([conn]) => conn);
    if (behind.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const each = behind.map(
      (conn) =>
        new Promise<void>((resolve) => {
          this.caughtUpWaiters.set(conn, [...(this.caughtUpWaiters.get(conn) ?? []), resolve]);
        }),
    );
    await Promise.race([
      Promise.all(each),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private settle(conn: RpcConnection): void {
    const waiters = this.caughtUpWaiters.get(conn);
    this.caughtUpWaiters.delete(conn);
    for (const resolve of waiters ?? []) resolve();
  }

  isAttached(conn: RpcConnection): boolean {
    return this.cursors.has(conn);
  }

  pumpAll(): void {
    for (const conn of this.cursors.keys()) this.pump(conn);
  }

  /** New output at `offset`: sent from memory to every connection that is exactly caught up. */
  live(offset: number, chunk: Buffer): void {
    // Encoded at most once per framing, however many connections are caught up.
    let line: string | null = null;
    let frame: Buffer | null = null;
    for (const [conn, cursor] of this.cursors) {
      // A connection waiting for 'drain' catches up from the log once its queue has emptied.
      if (this.waiting.has(conn)) continue;
      if (cursor !== offset || conn.closed) {
        // Behind: caught up from the log once these bytes have been appended to it.
        this.pumpSoon();
        continue;
      }
      if (conn.queuedBytes >= LIVE_QUEUE_BYTES) {
        this.whenDrained(conn);
        continue;
      }
      const encoded =
        conn.framing === 'binary'
          ? (frame ??= encodeFrame(FRAME_TERMINAL, chunk))
          : (line ??= ptyEventLine(offset, chunk.toString('base64')));
      if (!conn.sendEncoded(encoded)) {
        this.detach(conn);
        continue;
      }
      this.cursors.set(conn, offset + chunk.length);
    }
  }

  /** Pumps every connection on the next turn of the event loop (once, however often it is asked). */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumpAll();
    });
  }

  pump(conn: RpcConnection): void {
    let cursor = this.cursors.get(conn);
    if (cursor === undefined) return;
    while (cursor < this.log.end) {
      if (conn.closed) return void this.detach(conn);
      if (conn.queuedBytes >= WINDOW_BYTES) return this.whenDrained(conn);
      const chunk = this.log.read(cursor, CHUNK_BYTES);
      if (!conn.sendEncoded(encodeOutput(conn, cursor, chunk))) {
        return void this.detach(conn);
      }
      cursor += chunk.length;
      this.cursors.set(conn, cursor);
    }
    this.settle(conn);
  }

  /** Resumes a connection whose window is full once its queue has drained. */
  private whenDrained(conn: RpcConnection): void {
    if (this.waiting.has(conn)) return;
    this.waiting.add(conn);
    conn.once('drain', () => {
      this.waiting.delete(conn);
      this.pump(conn);
    });
  }
}

/** Output bytes as this connection takes them: a terminal frame, or a `pty` event line. */
function encodeOutput(conn: RpcConnection, offset: number, chunk: Buffer): string | Buffer {
  return conn.framing === 'binary'
    ? encodeFrame(FRAME_TERMINAL, chunk)
    : ptyEventLine(offset, chunk.toString('base64'));
}
