/**
 * The server side of one connection over any byte stream (a Unix socket today, an overlay stream later):
 * NDJSON framing in and out (or binary frames once an `attach` switched the connection to them), dispatch
 * through the handler table, event notifications, bounded writes. Nothing a client sends can make this
 * throw; a bad or slow client only ever loses its own connection.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { createJSONRPCErrorResponse, createJSONRPCNotification } from 'json-rpc-2.0';
import { errorMessage } from '../errors.js';
import { errorCodes } from './errors.js';
import { EVENT_METHOD, makeEvent } from './events.js';
import type { LoopEvent, WireEvent } from './events.js';
import { LineDecoder, encodeLine } from './framing.js';
import { FRAME_MESSAGE, FRAME_TERMINAL, FrameDecoder, asksForFrames, messageFrame } from './frames.js';
import type { Framing } from './frames.js';
import { BoundedWriter, DEFAULT_MAX_QUEUED_BYTES } from './write-queue.js';
import { answer, createDispatcher } from './dispatch.js';
import type { HandlerTable, Logger } from './dispatch.js';

export type { HandlerTable, Handler, Logger } from './dispatch.js';

export const DEFAULT_MAX_IN_FLIGHT = 16;
export const DEFAULT_PAUSE_QUEUED_BYTES = 1024 * 1024;

export interface ServeOptions {
  /** Who is on the other end, for logs and lease holder names; defaults to the connection id. */
  label?: string;
  maxLineBytes?: number;
  /** Bytes allowed to wait for a slow reader before the connection is dropped. */
  maxQueuedBytes?: number;
  /**
   * Requests answered at once on this connection (a batch counts each member). Past it, or while more than
   * `pauseQueuedBytes` of answers wait to be read, nothing more is read from the client until it catches up.
   */
  maxInFlight?: number;
  pauseQueuedBytes?: number;
  logger?: Logger;
  /** Check results against the method table; defaults to on under tests (NODE_ENV=test or VITEST). */
  validateResults?: boolean;
  /** How long `close()` waits for queued output to flush before destroying the stream. */
  closeGraceMs?: number;
  /** Terminal bytes the client sent in a binary frame; without it they are discarded. */
  onTerminalInput?: (data: Buffer, conn: RpcConnection) => void;
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
  /** What the client said it is (`attach`'s `client`), for people; null until it says. */
  about: string | null = null;
  /** Event types this connection subscribed to (`*` for all). */
  readonly subscriptions = new Set<string>();
  /** Free slots for per-connection state kept by the handlers (attach state, lease, ...). */
  readonly data = new Map<string, unknown>();
  private closeReason: string | null = null;
  private framed = false;
  /** @internal True while a request to switch to binary frames is being answered. */
  switching = false;
  private readonly stream: Duplex;
  private readonly writer: BoundedWriter;
  private readonly logger: Logger;
  private readonly closeGraceMs: number;

  constructor(stream: Duplex, options: ServeOptions) {
    super();
    nextId += 1;
    this.id = `c${nextId}`;
    this.label = options.label ?? this.id;
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

  /** How messages travel on this connection: NDJSON lines, or binary frames after an `attach` asked for them. */
  get framing(): Framing {
    return this.framed ? 'binary' : 'ndjson';
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
    return this.writer.write(this.framed ? messageFrame(line) : line);
  }

  /** @internal Writes bytes already encoded for this connection's framing (a line, or a whole frame). */
  sendEncoded(data: string | Buffer): boolean {
    if (this.closed) return false;
    return this.writer.write(data);
  }

  /** @internal Everything sent from now on goes in binary frames. */
  useFrames(): void {
    this.framed = true;
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

/** Serves the per-loop protocol on `stream` with `handlers`. Returns at once; the connection runs by itself. */
export function serveConnection(
  stream: Duplex,
  handlers: HandlerTable,
  options: ServeOptions = {},
): RpcConnection {
  const conn = new RpcConnection(stream, options);
  const log = options.logger ?? (() => undefined);
  const validateResults =
    options.validateResults ?? (process.env.NODE_ENV === 'test' || process.env.VITEST !== undefined);
  const server = createDispatcher(handlers, { logger: log, validateResults });
  let inFlight = 0;
  let peerEnded = false;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const pauseQueuedBytes = options.pauseQueuedBytes ?? DEFAULT_PAUSE_QUEUED_BYTES;
  /** True while reading is paused because this client has too much in flight or not yet read. */
  let throttled = false;

  const maybeFinishAfterEnd = (): void => {
    if (!peerEnded || inFlight > 0 || throttled) return;
    conn.finish('peer closed');
    conn.endStream();
  };

  // Reading stops while the client has asked for more than it has read back: its requests wait in its own
  // socket buffer, not in this process, so a client that pipelines without reading costs a bounded amount.
  const overloaded = (): boolean => inFlight >= maxInFlight || conn.queuedBytes > pauseQueuedBytes;
  const throttle = (): void => {
    if (throttled || conn.closed || !overloaded()) return;
    throttled = true;
    (frames ?? decoder).pause();
    stream.pause();
  };
  const unthrottle = (): void => {
    if (!throttled || overloaded()) return;
    throttled = false;
    if (conn.closed) return;
    stream.resume();
    if (!conn.switching) (frames ?? decoder).resume();
    maybeFinishAfterEnd();
  };
  conn.on('drain', unthrottle);

  const tooLong = (what: string, limit: number): void => {
    conn.send(
      createJSONRPCErrorResponse(
        null,
        errorCodes.LINE_TOO_LONG.code,
        `${what} too long: over ${limit} bytes`,
        {
          limit,
        },
      ),
    );
  };
  const decoder = new LineDecoder({
    maxLineBytes: options.maxLineBytes,
    onLine: (line) => handleLine(line),
    onOversize: (bytes) => {
      log(`line from ${conn.label} over ${decoder.maxLineBytes} bytes discarded`, { conn: conn.id, bytes });
      tooLong('line', decoder.maxLineBytes);
    },
    onTruncated: (bytes) => {
      log(`connection ${conn.label} ended in the middle of a line; ${bytes} bytes discarded`, {
        conn: conn.id,
      });
    },
  });
  /** Set once the connection has switched to binary frames; from then on it decodes everything. */
  let frames: FrameDecoder | null = null;

  function onFrame(type: number, payload: Buffer): void {
    if (type === FRAME_MESSAGE) return handleLine(payload.toString('utf8'));
    if (type === FRAME_TERMINAL) {
      try {
        options.onTerminalInput?.(payload, conn);
      } catch (err) {
        log('terminal input failed', { conn: conn.id, error: err });
      }
      return;
    }
    conn.send(
      createJSONRPCErrorResponse(
        null,
        errorCodes.INVALID_REQUEST.code,
        `invalid request: unknown frame type ${type}; frame discarded`,
      ),
    );
  }

  /** After the answer to a request for binary frames: switch if it succeeded, else go on with lines. */
  function settleSwitch(response: unknown): void {
    conn.switching = false;
    const ok = typeof response === 'object' && response !== null && 'result' in response;
    if (!ok || conn.closed) {
      if (!throttled) decoder.resume();
      return;
    }
    conn.useFrames();
    frames = new FrameDecoder({
      maxFrameBytes: decoder.maxLineBytes,
      onFrame,
      onOversize: (type, bytes) => {
        log(`frame from ${conn.label} over ${decoder.maxLineBytes} bytes discarded`, {
          conn: conn.id,
          bytes,
        });
        tooLong('frame', decoder.maxLineBytes);
      },
      onTruncated: (bytes) => {
        log(`connection ${conn.label} ended in the middle of a frame; ${bytes} bytes discarded`, {
          conn: conn.id,
        });
      },
    });
    if (throttled) frames.pause();
    for (const chunk of decoder.release()) frames.push(chunk);
    if (peerEnded) frames.end();
  }

  function handleLine(line: string): void {
    if (conn.closed || line.length === 0 || (line.charCodeAt(0) <= 0x20 && line.trim() === '')) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      conn.send(
        createJSONRPCErrorResponse(null, errorCodes.PARSE_ERROR.code, `parse error: ${errorMessage(err)}`),
      );
      return;
    }
    // A request to switch to binary frames: whatever follows it is held until its answer has been sent,
    // then read as frames (or as lines again, if it failed).
    const switching = frames === null && !conn.switching && asksForFrames(value);
    if (switching) {
      conn.switching = true;
      decoder.pause();
    }
    const weight = Array.isArray(value) ? Math.min(maxInFlight, Math.max(1, value.length)) : 1;
    inFlight += weight;
    throttle();
    answer(server, value, conn, maxInFlight)
      .then(
        (response) => {
          if (response !== null) conn.send(response);
          if (switching) settleSwitch(response);
        },
        (err: unknown) => {
          log('dispatch failed', { conn: conn.id, error: err });
          if (switching) settleSwitch(null);
        },
      )
      .finally(() => {
        inFlight -= weight;
        unthrottle();
        maybeFinishAfterEnd();
      });
  }

  stream.on('data', (chunk: Buffer | string) => {
    try {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (frames !== null) frames.push(bytes);
      else decoder.push(bytes);
    } catch (err) {
      log('failed to handle input', { conn: conn.id, error: err });
    }
  });
  stream.on('end', () => {
    decoder.end();
    frames?.end();
    peerEnded = true;
    maybeFinishAfterEnd();
  });
  stream.on('error', (err) => {
    log(`connection ${conn.label} failed: ${err.message}`, { conn: conn.id, error: err });
    conn.finish(`connection error: ${err.message}`);
    stream.destroy();
  });
  stream.on('close', () => {
    decoder.end();
    frames?.end();
    conn.finish('connection closed');
  });
  return conn;
}
