/**
 * The client side of the per-loop protocol over any byte stream: typed requests, event notifications
 * interleaved with responses, timeouts, and every pending request rejected when the stream closes. After an
 * `attach` that asked for binary frames, the same, framed, plus terminal bytes both ways.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  JSONRPCClient,
  createJSONRPCNotification,
  createJSONRPCErrorResponse,
  createJSONRPCRequest,
  isJSONRPCResponse,
} from 'json-rpc-2.0';
import type { JSONRPCResponse } from 'json-rpc-2.0';
import { errorMessage } from '../errors.js';
import { RpcError, errorCodes } from './errors.js';
import { EVENT_METHOD } from './event-method.js';
import type { WireEvent } from './events.js';
import { DEFAULT_MAX_LINE_BYTES, LineDecoder, encodeLine } from './framing.js';
import { attachFramingSwitch } from './framing-switch.js';
import type { FramingSwitch } from './framing-switch.js';
import { FRAME_MESSAGE, FRAME_TERMINAL, FrameDecoder, encodeFrame, messageFrame } from './frames.js';
import type { Framing } from './frames.js';
import type { MethodName, ParamsInputOf, ResultOf } from './methods.js';

export interface RpcClientOptions {
  /** Longest line accepted from the server, and longest request sent (the server's limit). */
  maxLineBytes?: number;
  /** Timeout for requests that give none; 0 waits forever. */
  defaultTimeoutMs?: number;
  /** How long `close()` lets queued requests flush before destroying the stream. */
  closeGraceMs?: number;
  /** Which requests switch the connection to binary frames; the per-loop protocol's `attach` rule by default. */
  framingSwitch?: FramingSwitch;
}

export interface RequestOptions {
  timeoutMs?: number;
}

interface ClientEvents {
  close: [reason: string];
  event: [event: WireEvent];
  /** Terminal output in a binary frame (once the connection has switched to them). */
  terminal: [data: Buffer];
  /** A notification other than `event` (a daemon's `hello` or `loop_event`), when someone listens for them. */
  notification: [method: string, params: unknown];
  /** Something the server sent that is not a response or an event; the connection keeps going. */
  warning: [message: string];
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export class RpcClient extends EventEmitter<ClientEvents> {
  private readonly stream: Duplex;
  private readonly rpc: JSONRPCClient;
  private readonly maxLineBytes: number;
  private readonly defaultTimeoutMs: number;
  private readonly closeGraceMs: number;
  private nextId = 0;
  private closeReason: string | null = null;
  private disconnectReason: string | null = null;
  private readonly lines: LineDecoder;
  /** Set once the connection has switched to binary frames. */
  private frames: FrameDecoder | null = null;
  /** The id of a request for binary frames still waiting for its answer. */
  private switchId: number | null = null;
  /** Messages written while that answer is awaited: the framing they go out in is not known yet. */
  private holding: string[] | null = null;

  private readonly framingSwitch: FramingSwitch;

  constructor(stream: Duplex, options: RpcClientOptions = {}) {
    super();
    this.stream = stream;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.closeGraceMs = options.closeGraceMs ?? 2000;
    this.framingSwitch = options.framingSwitch ?? attachFramingSwitch;
    this.rpc = new JSONRPCClient((payload: unknown) => this.write(payload));
    this.lines = new LineDecoder({
      maxLineBytes: this.maxLineBytes,
      onLine: (line) => this.handleLine(line),
      onOversize: (bytes) =>
        this.warn(`server sent a line over ${this.maxLineBytes} bytes (${bytes}+); discarded`),
    });
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer | string): void =>
    this.receive(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  private readonly onEnd = (): void =>
    this.finish(this.serverClosedReason('connection closed by the server'));
  private readonly onError = (err: Error): void => {
    this.finish(`connection error: ${err.message}`);
    this.stream.destroy();
  };
  private readonly onClose = (): void => this.finish(this.serverClosedReason('connection closed'));

  /**
   * Gives the stream back, paused, for another protocol to take over the connection (git's, after a daemon's
   * greeting): this client stops reading it and is closed (pending requests are rejected), the stream is not.
   * Call it between messages: `pending` holds the whole messages received and not yet handled, not a line
   * half received.
   */
  release(): { stream: Duplex; pending: Buffer[] } {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.off('close', this.onClose);
    this.stream.pause();
    this.lines.pause();
    const pending = this.lines.release();
    this.finish('handed over');
    return { stream: this.stream, pending };
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Why the connection closed, or null while open. */
  get reason(): string | null {
    return this.closeReason;
  }

  private receive(bytes: Buffer): void {
    if (this.frames !== null) return this.frames.push(bytes);
    this.lines.push(bytes);
    // The answer to a request for frames was in this chunk: the bytes after it are frames.
    const frames = this.frames as FrameDecoder | null;
    if (frames !== null) for (const rest of this.lines.release()) frames.push(rest);
  }

  /** NDJSON, or binary frames once an `attach` that asked for them has succeeded. */
  get framing(): Framing {
    return this.frames === null ? 'ndjson' : 'binary';
  }

  /** Sends keystrokes in a terminal frame: no answer (see the `input_dropped` event). Binary framing only. */
  sendTerminal(data: Buffer | string): void {
    if (this.closeReason !== null)
      throw RpcError.of('CONNECTION_CLOSED', `connection closed: ${this.closeReason}`);
    if (this.frames === null) throw new Error('terminal frames need a connection switched to binary frames');
    this.stream.write(encodeFrame(FRAME_TERMINAL, data));
  }

  /** Calls a method of the table. Rejects with RpcError: the server's error, or CONNECTION_CLOSED / REQUEST_TIMEOUT. */
  request<M extends MethodName>(
    method: M,
    params?: ParamsInputOf<M>,
    opts: RequestOptions = {},
  ): Promise<ResultOf<M>> {
    return this.call(method, params ?? {}, opts) as Promise<ResultOf<M>>;
  }

  /**
   * Sends a method as a JSON-RPC notification: no id, so the server answers nothing, not even an error.
   * For fire-and-forget traffic such as keystrokes, where a response per key would only add latency.
   */
  notify<M extends MethodName>(method: M, params?: ParamsInputOf<M>): void {
    if (this.closeReason !== null)
      throw RpcError.of('CONNECTION_CLOSED', `connection closed: ${this.closeReason}`);
    this.write(createJSONRPCNotification(method, params ?? {}));
  }

  /** Calls any method name with any params (no typing); for tools and tests. */
  async call(method: string, params?: unknown, opts: RequestOptions = {}): Promise<unknown> {
    if (this.closeReason !== null)
      throw RpcError.of('CONNECTION_CLOSED', `connection closed: ${this.closeReason}`);
    this.nextId += 1;
    const id = this.nextId;
    const request = createJSONRPCRequest(id, method, params);
    const bytes = Buffer.byteLength(encodeLine(request)) - 1;
    if (bytes > this.maxLineBytes) {
      throw RpcError.of(
        'LINE_TOO_LONG',
        `${method} request is ${bytes} bytes, over the ${this.maxLineBytes}-byte line limit`,
        {
          limit: this.maxLineBytes,
        },
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const requester =
      timeoutMs > 0
        ? this.rpc.timeout(timeoutMs, (id) =>
            createJSONRPCErrorResponse(
              id,
              errorCodes.REQUEST_TIMEOUT.code,
              `${method} timed out after ${timeoutMs} ms`,
              {
                method,
                timeout_ms: timeoutMs,
              },
            ),
          )
        : this.rpc;
    const switching =
      this.frames === null && this.switchId === null && this.framingSwitch.asksForFrames(request);
    if (switching) this.switchId = id;
    const response = await requester.requestAdvanced(request);
    if (this.switchId === id) {
      // No answer from the server (a timeout): which framing it now expects cannot be known.
      this.close();
    }
    if (response.error) {
      const { code, message } = response.error;
      const data: unknown = response.error.data;
      // json-rpc-2.0 reports its own failures (send failed, pending rejected on close) with code 0.
      if (code === 0) throw RpcError.of('CONNECTION_CLOSED', message);
      throw new RpcError(code, message, data);
    }
    return response.result as unknown;
  }

  /** Registers an event listener; returns a function that removes it. */
  onEvent(cb: (event: WireEvent) => void): () => void {
    this.on('event', cb);
    return () => {
      this.off('event', cb);
    };
  }

  /** Closes the connection; pending requests are rejected with CONNECTION_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.finish('closed by the client');
    this.stream.end();
    const timer = setTimeout(() => this.stream.destroy(), this.closeGraceMs);
    timer.unref();
    this.stream.once('close', () => clearTimeout(timer));
  }

  private write(payload: unknown): void {
    if (this.closeReason !== null) throw new Error(`connection closed: ${this.closeReason}`);
    const line = encodeLine(payload);
    if (this.holding !== null) return void this.holding.push(line);
    this.stream.write(this.frames === null ? line : messageFrame(line));
    if (this.switchId !== null && (payload as { id?: unknown }).id === this.switchId) this.holding = [];
  }

  /** The answer to the request for binary frames has come: switch if it succeeded, then send what waited. */
  private settleSwitch(ok: boolean): void {
    this.switchId = null;
    if (ok) {
      this.lines.pause();
      this.frames = new FrameDecoder({
        maxFrameBytes: this.maxLineBytes,
        onFrame: (type, payload) => this.handleFrame(type, payload),
        onOversize: (_type, bytes) =>
          this.warn(`server sent a frame over ${this.maxLineBytes} bytes (${bytes}); discarded`),
      });
    }
    const held = this.holding ?? [];
    this.holding = null;
    for (const line of held) this.stream.write(ok ? messageFrame(line) : line);
  }

  private handleFrame(type: number, payload: Buffer): void {
    if (type === FRAME_TERMINAL) {
      for (const listener of this.listeners('terminal')) {
        try {
          listener(payload);
        } catch (err) {
          this.warn(`a terminal listener threw: ${errorMessage(err)}`);
        }
      }
    } else if (type === FRAME_MESSAGE) {
      this.handleLine(payload.toString('utf8'));
    } else {
      this.warn(`server sent a frame of unknown type ${type}; discarded`);
    }
  }

  private handleLine(line: string): void {
    if (isBlank(line)) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.warn(`server sent invalid JSON: ${errorMessage(err)}`);
      return;
    }
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const item of items) this.handleMessage(item);
  }

  private handleMessage(msg: unknown): void {
    if (typeof msg !== 'object' || msg === null) {
      this.warn('server sent a message that is not an object');
      return;
    }
    const record = msg as Record<string, unknown>;
    if (record.method === EVENT_METHOD && record.id === undefined) {
      this.handleEvent(record.params);
    } else if (
      typeof record.method === 'string' &&
      record.id === undefined &&
      this.listenerCount('notification') > 0
    ) {
      this.emit('notification', record.method, record.params);
    } else if (isJSONRPCResponse(record)) {
      const response = record as unknown as JSONRPCResponse;
      if (this.switchId !== null && response.id === this.switchId) this.settleSwitch('result' in record);
      if (response.id === null && response.error) {
        this.warn(`server error not tied to a request: ${response.error.code} ${response.error.message}`);
      }
      this.rpc.receive(response);
    } else {
      this.warn(`server sent an unexpected message: ${JSON.stringify(msg).slice(0, 200)}`);
    }
  }

  private handleEvent(params: unknown): void {
    const event = params as WireEvent | null;
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      this.warn('server sent an event without a type');
      return;
    }
    if (event.type === 'disconnect') {
      const data = event.data as { reason?: unknown } | null;
      this.disconnectReason = typeof data?.reason === 'string' ? data.reason : 'no reason given';
    }
    for (const listener of this.listeners('event')) {
      try {
        listener(event);
      } catch (err) {
        this.warn(`an event listener threw: ${errorMessage(err)}`);
      }
    }
  }

  private serverClosedReason(fallback: string): string {
    return this.disconnectReason === null
      ? fallback
      : `server closed the connection: ${this.disconnectReason}`;
  }

  private warn(message: string): void {
    if (this.listenerCount('warning') > 0) this.emit('warning', message);
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.rpc.rejectAllPendingRequests(`connection closed: ${reason}`);
    this.emit('close', reason);
  }
}

/** A line of only white space (cheap for the usual line, which starts with `{`). */
function isBlank(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 0x20 && line.trim() === '');
}
