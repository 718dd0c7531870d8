/**
 * A channel: framed messages over one byte stream to an edge router (normally mutual TLS, see connect.ts).
 * Provides request/reply correlation, answers the router's heartbeats and latency probes, probes the router
 * itself to notice a dead link, and applies the socket's backpressure to senders. What one edge connection's
 * reader leaves unread is held (and bounded) by that connection; only a connection whose reader is reading,
 * slower than its sender, may pause the socket, and only for a bounded time (a hold, see holdReading).
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ConnectionClosedByRouterError } from '../errors.js';
import { encodeFrame, FrameDecoder } from './codec.js';
import { ChannelTimeoutError } from './errors.js';
import {
  getUint64,
  markReply,
  newMessage,
  putUint64,
  replyFor,
  resultMessage,
  type Headers,
  type Message,
} from './message.js';
import { ChannelContentType, ChannelHeader, HELLO_SEQUENCE } from './protocol.js';
import {
  checkConnReceiveBufferBytes,
  checkReceiveHold,
  type ReceiveHoldOptions,
  type ReceiveHoldPolicy,
} from './receive-options.js';

export {
  checkConnReceiveBufferBytes,
  checkReceiveHold,
  DEFAULT_CONN_RECEIVE_BUFFER_BYTES,
  DEFAULT_RECEIVE_HOLD,
  type ReceiveHoldOptions,
} from './receive-options.js';

export interface ChannelOptions {
  /** Name used in errors (the router name or its address). */
  label: string;
  maxFrameBytes?: number;
  /** How often to probe an idle link (ms); 0 disables probing. */
  probeIntervalMs?: number;
  /** How long a probe may go unanswered, with nothing else read meanwhile, before the link is declared dead. */
  probeTimeoutMs?: number;
  /**
   * Most bytes one edge connection on this channel may hold unread before it is closed
   * (default DEFAULT_CONN_RECEIVE_BUFFER_BYTES).
   */
  connReceiveBufferBytes?: number;
  /** When a connection whose reader is slower than its sender may pause the channel (DEFAULT_RECEIVE_HOLD). */
  connReceiveHold?: ReceiveHoldOptions;
}

interface Waiter {
  resolve: (msg: Message) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Bytes that may wait in the socket's write buffer before senders are held until it drains. Above the
 * socket's own 16 KiB high-water mark, so that a connection echoing what it reads keeps pace with its input
 * instead of stopping for every 64 KiB message.
 */
const WRITE_ALLOWANCE_BYTES = 512 * 1024;

let channelCounter = 0;

export interface ChannelEvents {
  message: [Message];
  close: [Error | undefined];
  /** A best-effort message could not be sent (the channel was going away); nothing waits on it. */
  warning: [string];
}

export class Channel extends EventEmitter<ChannelEvents> {
  readonly id = ++channelCounter;
  readonly label: string;
  /** Headers the router sent in its hello answer. */
  peerHeaders: Headers = new Map();
  /** Round-trip time of the last answered probe (ms), if any. */
  latencyMs: number | undefined;
  /** Latency probes answered so far. */
  probesAnswered = 0;
  /** Bound of unread bytes for each edge connection carried by this channel. */
  readonly connReceiveBufferBytes: number;
  /** When a connection on this channel may hold its reading. */
  readonly connReceiveHold: ReceiveHoldPolicy;
  /** Milliseconds reading was held in all (before the current hold, if any). */
  readingHeldMs = 0;
  private readonly holders = new Set<object>();
  private heldSince = 0;
  private lastHoldEndedAt = 0;
  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  private readonly waiters = new Map<number, Waiter>();
  private nextSequence = 1;
  private closedWith: Error | undefined;
  private isClosed = false;
  private drainWait: Promise<void> | undefined;
  private lastReadAt = Date.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private probeInFlight = false;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;

  constructor(socket: Duplex, options: ChannelOptions) {
    super();
    this.socket = socket;
    this.label = options.label;
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.probeIntervalMs = options.probeIntervalMs ?? 30_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 15_000;
    this.connReceiveBufferBytes = checkConnReceiveBufferBytes(options.connReceiveBufferBytes);
    this.connReceiveHold = checkReceiveHold(options.connReceiveHold);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) =>
      this.close(new ConnectionClosedByRouterError(this.label, err.message, { cause: err })),
    );
    socket.on('close', () =>
      this.close(new ConnectionClosedByRouterError(this.label, 'the link was closed')),
    );
    socket.on('end', () =>
      this.close(new ConnectionClosedByRouterError(this.label, 'the router ended the link')),
    );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Why the channel closed (undefined while open or after a local close without a reason). */
  get closeReason(): Error | undefined {
    return this.closedWith;
  }

  /** Whether a connection holds reading now (the socket is paused). */
  get readingHeld(): boolean {
    return this.holders.size > 0;
  }

  /**
   * Stops reading from the router until every holder has released (TCP backpressure then reaches the
   * router). Only for a bounded time: EdgeConn holds while its reader is reading but slower than its sender,
   * at most connReceiveHold.maxMs at a time. Probes do not count a held time as silence.
   */
  holdReading(holder: object): void {
    if (this.isClosed || this.holders.has(holder)) return;
    this.holders.add(holder);
    if (this.holders.size === 1) {
      this.heldSince = Date.now();
      this.socket.pause();
    }
  }

  /** Ends `holder`'s hold; reading resumes once no hold is left. */
  releaseReading(holder: object): void {
    if (!this.holders.delete(holder) || this.holders.size > 0) return;
    this.lastHoldEndedAt = Date.now();
    this.readingHeldMs += this.lastHoldEndedAt - this.heldSince;
    if (!this.isClosed) this.socket.resume();
  }

  /** Sends the hello (sequence -1) and waits for the router's Result. Resolves to the result message. */
  async hello(body: string, headers: Headers, timeoutMs: number): Promise<Message> {
    const msg = newMessage(ChannelContentType.hello, body, headers);
    const reply = await this.exchange(msg, HELLO_SEQUENCE, timeoutMs, 'channel hello');
    this.peerHeaders = reply.headers;
    this.startProbing();
    return reply;
  }

  /** Queues a message; resolves once the socket can take more (the socket's backpressure). */
  send(msg: Message): Promise<void> {
    if (this.isClosed) return Promise.reject(this.closedError());
    msg.sequence = this.takeSequence();
    return this.write(msg);
  }

  /** Sends a message and waits for the message that names it in its ReplyFor header. */
  request(msg: Message, timeoutMs: number, what = `request of type ${msg.contentType}`): Promise<Message> {
    if (this.isClosed) return Promise.reject(this.closedError());
    return this.exchange(msg, this.takeSequence(), timeoutMs, what);
  }

  /** Sends `reply` as the answer to `request`. */
  /**
   * Sends a message nobody waits on (a courtesy close, a probe answer). If the channel is going away the
   * failure is reported as a 'warning' event: the channel's own 'close' already tells everyone that matters.
   */
  sendBestEffort(msg: Message, what: string): void {
    this.send(msg).catch((err: unknown) =>
      this.emit(
        'warning',
        `${what} not sent on ${this.label}: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
  }

  reply(request: Message, reply: Message): Promise<void> {
    return this.send(markReply(reply, request));
  }

  close(reason?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedWith = reason;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.holders.clear();
    const err = this.closedError();
    for (const waiter of this.waiters.values()) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
    this.socket.destroy();
    this.emit('close', reason);
  }

  private closedError(): Error {
    return this.closedWith ?? new ConnectionClosedByRouterError(this.label, 'the channel is closed');
  }

  private takeSequence(): number {
    const seq = this.nextSequence;
    this.nextSequence = seq >= 0x7fffffff ? 1 : seq + 1;
    return seq;
  }

  private exchange(msg: Message, sequence: number, timeoutMs: number, what: string): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.waiters.delete(sequence);
              reject(new ChannelTimeoutError(`${what} to ${this.label}`, timeoutMs));
            }, timeoutMs)
          : undefined;
      this.waiters.set(sequence, { resolve, reject, timer });
      msg.sequence = sequence;
      this.write(msg).catch((err: unknown) => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(sequence);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  private write(msg: Message): Promise<void> {
    const ok = this.socket.write(encodeFrame(msg));
    if (ok || (this.drainWait === undefined && this.socket.writableLength <= WRITE_ALLOWANCE_BYTES)) {
      return Promise.resolve();
    }
    this.drainWait ??= new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        this.off('close', onClose);
        this.drainWait = undefined;
        resolve();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        this.drainWait = undefined;
        reject(this.closedError());
      };
      this.socket.once('drain', onDrain);
      this.once('close', onClose);
    });
    return this.drainWait;
  }

  private onData(chunk: Buffer): void {
    this.lastReadAt = Date.now();
    let messages: Message[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      this.close(err as Error);
      return;
    }
    for (const msg of messages) {
      if (this.isClosed) return;
      this.dispatch(msg);
    }
  }

  private dispatch(msg: Message): void {
    const beat = getUint64(msg.headers, ChannelHeader.heartbeat);
    if (beat !== undefined) this.answerHeartbeat(beat);
    if (msg.contentType === ChannelContentType.heartbeat) return;
    const answers = replyFor(msg);
    if (answers !== undefined) {
      const waiter = this.waiters.get(answers);
      if (waiter) {
        this.waiters.delete(answers);
        if (waiter.timer) clearTimeout(waiter.timer);
        waiter.resolve(msg);
        return;
      }
    }
    if (msg.contentType === ChannelContentType.latency) {
      this.sendBestEffort(markReply(resultMessage(true), msg), 'latency answer');
      return;
    }
    this.emit('message', msg);
  }

  private answerHeartbeat(value: bigint): void {
    const msg = newMessage(ChannelContentType.heartbeat);
    putUint64(msg.headers, ChannelHeader.heartbeatResponse, value);
    this.sendBestEffort(msg, 'heartbeat answer');
  }

  private startProbing(): void {
    if (this.probeIntervalMs <= 0 || this.probeTimer) return;
    this.probeTimer = setInterval(() => this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** Sends a latency probe (also carrying a heartbeat); a dead link is closed. */
  private probe(): void {
    if (this.probeInFlight || this.isClosed) return;
    this.probeInFlight = true;
    const sentAt = Date.now();
    const msg = newMessage(ChannelContentType.latency);
    const now = process.hrtime.bigint();
    putUint64(msg.headers, ChannelHeader.reflected, now);
    putUint64(msg.headers, ChannelHeader.heartbeat, now);
    this.request(msg, this.probeTimeoutMs, 'latency probe')
      .then(() => {
        this.latencyMs = Date.now() - sentAt;
        this.probesAnswered++;
      })
      .catch((err: unknown) => {
        // Silence is only evidence of a dead link while we were reading: an answer may wait behind a hold.
        const heldMeanwhile = this.holders.size > 0 || this.lastHoldEndedAt >= sentAt;
        if (err instanceof ChannelTimeoutError && this.lastReadAt < sentAt && !heldMeanwhile) {
          this.close(
            new ConnectionClosedByRouterError(this.label, `no answer for ${this.probeTimeoutMs} ms`),
          );
        }
      })
      .finally(() => {
        this.probeInFlight = false;
      });
  }
}
