/**
 * One served connection as the handlers see it: who is on the other end, its subscriptions and per-connection
 * state, event notifications, bounded writes and closing. How bytes become messages is `MessageFraming`'s
 * business, how messages are answered the dispatcher's; `serve.ts` composes them.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { createJSONRPCNotification } from 'json-rpc-2.0';
import { EVENT_METHOD, makeEvent } from './event-method.js';
import type { LoopEvent, WireEvent } from './events.js';
import { encodeLine } from './framing.js';
import type { Framing } from './frames.js';
import { BoundedWriter, DEFAULT_MAX_QUEUED_BYTES } from './write-queue.js';
import type { Logger } from './dispatch.js';
import type { Peer } from '../transport/stream.js';

export type { HandlerTable, Handler, Logger } from './dispatch.js';
export type { ServeOptions } from './serve.js';

/** How the connection's outgoing messages are framed right now (see `MessageFraming`). */
export interface OutgoingFraming {
  readonly framing: Framing;
  /** True while a request to switch framing is being answered. */
  readonly switching: boolean;
  /** One NDJSON line (ending in `\n`) as this framing sends it. */
  encode(line: string): string | Buffer;
}

const LINES_ONLY: OutgoingFraming = { framing: 'ndjson', switching: false, encode: (line) => line };

export interface ConnectionOptions {
  /** Who is on the other end, for logs and lease holder names; defaults to the peer's label, or the id. */
  label?: string;
  /** Who is on the other end as the transport reports it (Unix process, Ziti identity). */
  peer?: Peer;
  /** Bytes allowed to wait for a slow reader before the connection is dropped. */
  maxQueuedBytes?: number;
  logger?: Logger;
  /** How long `close()` waits for queued output to flush before destroying the stream. */
  closeGraceMs?: number;
}

interface ConnectionEvents {
  close: [reason: string];
  /** Everything queued for a reader that had fallen behind has been handed to the stream. */
  drain: [];
}

let nextId = 0;

export class RpcConnection extends EventEmitter<ConnectionEvents> {
  readonly id: string;
  readonly label: string;
  /** Who is on the other end as the transport reported it; null when served without a listener. */
  readonly peer: Peer | null;
  /** What the client said it is (`attach`'s `client`), for people; null until it says. */
  about: string | null = null;
  /** Event types this connection subscribed to (`*` for all). */
  readonly subscriptions = new Set<string>();
  /** Free slots for per-connection state kept by the handlers (attach state, lease, ...). */
  readonly data = new Map<string, unknown>();
  private closeReason: string | null = null;
  private readonly out: OutgoingFraming;
  private readonly stream: Duplex;
  private readonly writer: BoundedWriter;
  private readonly logger: Logger;
  private readonly closeGraceMs: number;

  constructor(stream: Duplex, options: ConnectionOptions = {}, out: OutgoingFraming = LINES_ONLY) {
    super();
    this.out = out;
    nextId += 1;
    this.id = `c${nextId}`;
    this.label = options.label ?? options.peer?.label ?? this.id;
    this.peer = options.peer ?? null;
    this.stream = stream;
    this.logger = options.logger ?? (() => undefined);
    this.closeGraceMs = options.closeGraceMs ?? 5000;
    const limit = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.writer = new BoundedWriter(
      stream,
      limit,
      (queued) => this.drop(queued, limit),
      () => this.emit('drain'),
    );
  }

  /** The name people see for this client (as the keyboard's holder): what it said it is, and the label. */
  get name(): string {
    return this.about === null ? this.label : `${this.about} (${this.label})`;
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Why the connection closed, or null while open. */
  get reason(): string | null {
    return this.closeReason;
  }

  /** How messages travel on this connection: NDJSON lines, or binary frames after a switch to them. */
  get framing(): Framing {
    return this.out.framing;
  }

  /** True while a request to switch to binary frames is being answered. */
  get switching(): boolean {
    return this.out.switching;
  }

  /** Bytes waiting to be sent to this client. */
  get queuedBytes(): number {
    return this.writer.queuedBytes;
  }

  /** True when this connection subscribed to `type` or to `*`. */
  wants(type: string): boolean {
    return this.subscriptions.has(type) || this.subscriptions.has('*');
  }

  /** Sends an `event` notification. Returns false when it was not sent (closed, or just dropped as slow). */
  notify(event: LoopEvent | WireEvent): boolean {
    return this.send(createJSONRPCNotification(EVENT_METHOD, event));
  }

  /** Tells the client why (a `disconnect` event), then ends the connection once queued output is sent. */
  close(reason: string): void {
    if (this.closed) return;
    this.notify(makeEvent('disconnect', { reason }));
    this.writer.end();
    const timer = setTimeout(() => this.stream.destroy(), this.closeGraceMs);
    timer.unref();
    this.stream.once('close', () => clearTimeout(timer));
    this.finish(reason);
  }

  /** @internal Writes one message; false when nothing more can be sent. */
  send(message: unknown): boolean {
    return this.sendLine(encodeLine(message));
  }

  /** @internal Writes one already-encoded NDJSON line (ending in `\n`), as a frame on a binary connection. */
  sendLine(line: string): boolean {
    if (this.closed) return false;
    return this.writer.write(this.out.encode(line));
  }

  /** @internal Writes bytes already encoded for this connection's framing (a line, or a whole frame). */
  sendEncoded(data: string | Buffer): boolean {
    if (this.closed) return false;
    return this.writer.write(data);
  }

  /**
   * @internal Marks the connection closed at once and tells listeners on the next tick, so that a caller
   * looping over connections (e.g. broadcasting an event) never sees one vanish mid-call.
   */
  finish(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    process.nextTick(() => {
      try {
        this.emit('close', reason);
      } catch (err) {
        this.logger('a close listener threw', { conn: this.id, error: err });
      }
    });
  }

  /** @internal Ends the stream after what is queued. */
  endStream(): void {
    this.writer.end();
  }

  private drop(queued: number, limit: number): void {
    const reason = `slow consumer: ${queued} bytes queued`;
    this.logger(`dropping connection ${this.label}: ${reason}`, {
      conn: this.id,
      queued_bytes: queued,
      limit,
    });
    this.finish(reason);
    this.stream.destroy();
  }
}
