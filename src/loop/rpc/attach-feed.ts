/**
 * Feeds attached connections from the output log. Each attached connection has a cursor (the next byte it
 * needs); replay and live output are the same path: read from the cursor, send, advance. So a client that
 * attaches from offset N receives every byte from N on exactly once, however the replay and new output
 * interleave, and a slow reader only falls behind, it never makes the loop buffer.
 */
import { makeEvent, type RpcConnection } from '../../protocol/index.js';
import type { OutputLog } from '../output-log.js';

/** Bytes read from the log per `pty` event. */
const CHUNK_BYTES = 64 * 1024;
/** Stop feeding a connection while this much is still queued for it. */
const WINDOW_BYTES = 1024 * 1024;

export class AttachFeed {
  private readonly cursors = new Map<RpcConnection, number>();
  private readonly waiting = new Set<RpcConnection>();

  constructor(private readonly log: OutputLog) {}

  attach(conn: RpcConnection, fromOffset: number): void {
    this.cursors.set(conn, fromOffset);
  }

  detach(conn: RpcConnection): boolean {
    this.waiting.delete(conn);
    return this.cursors.delete(conn);
  }

  isAttached(conn: RpcConnection): boolean {
    return this.cursors.has(conn);
  }

  pumpAll(): void {
    for (const conn of this.cursors.keys()) this.pump(conn);
  }

  pump(conn: RpcConnection): void {
    let cursor = this.cursors.get(conn);
    if (cursor === undefined) return;
    while (cursor < this.log.end) {
      if (conn.closed) return void this.detach(conn);
      if (conn.queuedBytes >= WINDOW_BYTES) return this.whenDrained(conn);
      const chunk = this.log.read(cursor, CHUNK_BYTES);
      if (!conn.notify(makeEvent('pty', { offset: cursor, data: chunk.toString('base64') }))) {
        return void this.detach(conn);
      }
      cursor += chunk.length;
      this.cursors.set(conn, cursor);
    }
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
