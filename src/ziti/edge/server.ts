/**
 * A hosted service: keeps one bind alive and emits every incoming connection. When the router ends the
 * bind or the channel to it dies (for example the router restarts), it binds again with exponential
 * backoff, bounded in attempts and time, emitting 'rebind' on success and 'error' when it gives up.
 */
import { EventEmitter } from 'node:events';
import { ChannelTimeoutError } from '../channel/errors.js';
import type { EdgeConn } from './conn.js';
import { RebindFailedError, ZitiClosedError } from './errors.js';
import type { EdgeListener } from './listener.js';

export interface RebindPolicy {
  /** Attempts per outage before giving up (default 30). */
  maxAttempts?: number;
  /** Time per outage before giving up, in ms (default 5 minutes). */
  maxOutageMs?: number;
  /** First delay, doubled after each failed attempt (default 250 ms). */
  initialDelayMs?: number;
  /** Largest delay between attempts (default 10 s). */
  maxDelayMs?: number;
}

export interface RebindEvent {
  router: string;
  attempts: number;
  /** What ended the previous bind. */
  cause: Error;
}

export interface ZitiServerEvents {
  connection: [EdgeConn];
  /** The router confirmed the terminator exists (clients can now reach this server). */
  listening: [];
  rebind: [RebindEvent];
  /** Rebinding gave up; the server is closed afterwards. Also: a client's dial could not be completed. */
  error: [Error];
  close: [];
}

/** Binds once; `cause` is what ended the previous bind, when rebinding. */
export type Binder = (cause?: Error) => Promise<EdgeListener>;

export class ZitiServer extends EventEmitter<ZitiServerEvents> {
  readonly service: string;
  private readonly binder: Binder;
  private readonly policy: Required<RebindPolicy>;
  private listener: EdgeListener | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(service: string, binder: Binder, policy: RebindPolicy = {}) {
    super();
    this.service = service;
    this.binder = binder;
    this.policy = {
      maxAttempts: policy.maxAttempts ?? 30,
      maxOutageMs: policy.maxOutageMs ?? 5 * 60_000,
      initialDelayMs: policy.initialDelayMs ?? 250,
      maxDelayMs: policy.maxDelayMs ?? 10_000,
    };
  }

  /** The edge router currently carrying the bind, if bound. */
  get routerName(): string | undefined {
    return this.listener && !this.listener.isClosed ? this.listener.routerName : undefined;
  }

  get listening(): boolean {
    return this.listener !== undefined && !this.listener.isClosed;
  }

  /** True once the router confirmed the current bind (a 'listening' event was emitted for it). */
  get established(): boolean {
    const listener = this.listener;
    return listener !== undefined && !listener.isClosed && listener.established;
  }

  /** Resolves once clients can reach this server (the router confirmed the bind); rejects after timeoutMs or on close. */
  ready(timeoutMs = 30_000): Promise<void> {
    if (this.established) return Promise.resolve();
    if (this.closed) return Promise.reject(new ZitiClosedError(`server for service "${this.service}"`));
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.off('listening', onListening);
        this.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onListening = (): void => done();
      const onClose = (): void => done(new ZitiClosedError(`server for service "${this.service}"`));
      const timer = setTimeout(
        () => done(new ChannelTimeoutError(`binding service "${this.service}"`, timeoutMs)),
        timeoutMs,
      );
      this.on('listening', onListening);
      this.on('close', onClose);
    });
  }

  /** First bind; rejects with the binder's typed error. */
  async start(): Promise<void> {
    this.attach(await this.binder());
  }

  /** Stops hosting (Unbind). Connections already accepted stay open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await listener.close();
    this.emit('close');
  }

  private attach(listener: EdgeListener): void {
    if (this.closed) {
      void listener.close();
      throw new ZitiClosedError(`server for service "${this.service}"`);
    }
    this.listener = listener;
    listener.on('connection', (conn) => this.emit('connection', conn));
    listener.on('dialError', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    listener.on('established', () => this.emit('listening'));
    if (listener.established) queueMicrotask(() => this.emit('listening'));
    listener.once('close', (err) => {
      if (this.listener === listener) this.listener = undefined;
      if (err !== undefined && !this.closed) this.rebind(err, Date.now(), 1);
    });
  }

  private rebind(cause: Error, outageStart: number, attempt: number): void {
    const delay = Math.min(this.policy.initialDelayMs * 2 ** (attempt - 1), this.policy.maxDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.binder(cause).then(
        (listener) => {
          if (this.closed) {
            void listener.close();
            return;
          }
          this.attach(listener);
          this.emit('rebind', { router: listener.routerName, attempts: attempt, cause });
        },
        (err: unknown) => {
          if (this.closed) return;
          const elapsed = Date.now() - outageStart;
          if (attempt >= this.policy.maxAttempts || elapsed >= this.policy.maxOutageMs) {
            const last = err instanceof Error ? err : new Error(String(err));
            this.closed = true;
            this.emit('error', new RebindFailedError(this.service, attempt, elapsed, last));
            this.emit('close');
            return;
          }
          this.rebind(cause, outageStart, attempt + 1);
        },
      );
    }, delay);
  }
}
