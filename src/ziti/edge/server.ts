/**
 * A hosted service: holds binds (terminators) on up to `terminators` edge routers at once, each on a
 * different router, and emits every incoming connection. When a bind ends (the router ends it, or the
 * channel to it dies, e.g. a router restart) it binds again, on any router the controller offers: at once
 * while other binds still carry the service, with exponential backoff when none does. The backoff is bounded
 * in attempts and time unless the policy says `forever`. `state` events tell a daemon what is going on.
 *
 * A router answers a Bind at once and confirms it (BindSuccess) once the controller has created the
 * terminator. A bind left unconfirmed for `confirmTimeoutMs` is ended and replaced like a lost one: a router
 * whose terminator request went unanswered retries it only minutes later, and until then clients cannot reach
 * the service.
 */
import { EventEmitter } from 'node:events';
import { ChannelTimeoutError } from '../channel/errors.js';
import type { EdgeConn } from './conn.js';
import { RebindFailedError, ZitiClosedError } from './errors.js';
import type { EdgeListener } from './listener.js';

export interface RebindPolicy {
  /** Never give up: re-bind until the server is closed (maxAttempts and maxOutageMs are ignored). */
  forever?: boolean;
  /** Attempts per outage before giving up (default 30). */
  maxAttempts?: number;
  /** Time per outage before giving up, in ms (default 5 minutes). */
  maxOutageMs?: number;
  /** First delay, doubled after each failed attempt (default 250 ms). */
  initialDelayMs?: number;
  /** Largest delay between attempts (default 10 s). */
  maxDelayMs?: number;
}

export interface ZitiServerOptions {
  rebind?: RebindPolicy;
  /** Binds to hold at once, each on a different edge router (default 2; fewer when fewer routers exist). */
  terminators?: number;
  /** How often to look for a router for a missing terminator while at least one bind is up (default 10 s). */
  refillIntervalMs?: number;
  /** close() waits this long for the routers to take the Unbind, then destroys the channel (default 5 s). */
  closeTimeoutMs?: number;
  /** A bind not confirmed by its router within this time is replaced (default 20 s; 0: wait for ever). */
  confirmTimeoutMs?: number;
}

export interface RebindEvent {
  router: string;
  attempts: number;
  /** What ended the previous bind. */
  cause: Error;
}

/** What a daemon logs: the first bind, each attempt while no bind is up, and the end of such an outage. */
export type ServerState =
  | { state: 'bound'; router: string }
  | { state: 'rebinding'; attempt: number; reason: Error; delayMs: number }
  | { state: 'bound-again'; router: string; attempts: number; outageMs: number };

export interface ZitiServerEvents {
  connection: [EdgeConn];
  /** The router confirmed a terminator exists (clients can now reach this server). */
  listening: [];
  /** Bound again after an outage (no bind was up in between). */
  rebind: [RebindEvent];
  state: [ServerState];
  /** Rebinding gave up; the server is closed afterwards. Also: a client's dial could not be completed. */
  error: [Error];
  close: [];
}

/** Binds once on a router whose name is not in `exclude`; `cause` is what ended a previous bind. */
export type Binder = (exclude: ReadonlySet<string>, cause?: Error) => Promise<EdgeListener>;

interface Outage {
  start: number;
  attempt: number;
  cause: Error;
}

export class ZitiServer extends EventEmitter<ZitiServerEvents> {
  readonly service: string;
  private readonly binder: Binder;
  private readonly policy: Required<RebindPolicy>;
  private readonly target: number;
  private readonly refillIntervalMs: number;
  private readonly closeTimeoutMs: number;
  private readonly confirmTimeoutMs: number;
  private readonly binds = new Set<EdgeListener>();
  private closed = false;
  private filling = false;
  private outage: Outage | undefined;
  private lastCause: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;

  constructor(service: string, binder: Binder, options: ZitiServerOptions = {}) {
    super();
    this.service = service;
    this.binder = binder;
    const policy = options.rebind ?? {};
    this.policy = {
      forever: policy.forever ?? false,
      maxAttempts: policy.maxAttempts ?? 30,
      maxOutageMs: policy.maxOutageMs ?? 5 * 60_000,
      initialDelayMs: policy.initialDelayMs ?? 250,
      maxDelayMs: policy.maxDelayMs ?? 10_000,
    };
    this.target = Math.max(1, Math.floor(options.terminators ?? 2));
    this.refillIntervalMs = options.refillIntervalMs ?? 10_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 20_000;
  }

  /** An edge router currently carrying a bind, if bound (the first of `routerNames`). */
  get routerName(): string | undefined {
    return this.routerNames[0];
  }

  /** The edge routers currently carrying a bind of this server. */
  get routerNames(): string[] {
    return [...this.binds].filter((l) => !l.isClosed).map((l) => l.routerName);
  }

  get listening(): boolean {
    return [...this.binds].some((l) => !l.isClosed);
  }

  /** True once a router confirmed a current bind (a 'listening' event was emitted for it). */
  get established(): boolean {
    return [...this.binds].some((l) => !l.isClosed && l.established);
  }

  /** Resolves once clients can reach this server (a router confirmed a bind); rejects after timeoutMs or on close. */
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

  /** First bind; rejects with the binder's typed error. Further terminators are added in the background. */
  async start(): Promise<void> {
    const listener = await this.binder(new Set());
    this.attach(listener);
    this.emit('state', { state: 'bound', router: listener.routerName });
    this.refillTimer = setInterval(() => this.refill(), this.refillIntervalMs);
    this.refillTimer.unref();
    this.refill();
  }

  /**
   * Stops hosting (Unbind on every router). Connections already accepted stay open. Bounded: a router that
   * does not take the Unbind within `closeTimeoutMs` (a stalled link) has its channel destroyed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    const listeners = [...this.binds];
    this.binds.clear();
    await Promise.all(listeners.map((l) => this.closeBounded(l)));
    this.emit('close');
  }

  private async closeBounded(listener: EdgeListener): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.closeTimeoutMs);
    });
    const stalled = await Promise.race([listener.close().then(() => false), timedOut]);
    clearTimeout(timer);
    if (stalled) {
      listener.abort(
        new ChannelTimeoutError(`unbind of service "${this.service}" (link stalled)`, this.closeTimeoutMs),
      );
    }
  }

  private stopTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refillTimer) clearInterval(this.refillTimer);
    this.retryTimer = undefined;
    this.refillTimer = undefined;
  }

  private attach(listener: EdgeListener): void {
    if (this.closed) {
      void listener.close();
      throw new ZitiClosedError(`server for service "${this.service}"`);
    }
    this.binds.add(listener);
    listener.on('connection', (conn) => this.emit('connection', conn));
    listener.on('dialError', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    const established = (): void => {
      if ([...this.binds].filter((l) => !l.isClosed && l.established).length === 1) this.emit('listening');
    };
    listener.on('established', established);
    if (listener.established) queueMicrotask(established);
    else this.awaitConfirmation(listener);
    listener.once('close', (err) => this.lost(listener, err));
  }

  /** Ends `listener` with a timeout error (so that it is replaced) unless its router confirms it in time. */
  private awaitConfirmation(listener: EdgeListener): void {
    if (this.confirmTimeoutMs <= 0) return;
    const timer = setTimeout(() => {
      if (listener.isClosed || listener.established || this.closed) return;
      void listener.close(
        new ChannelTimeoutError(
          `confirmation of the bind of service "${this.service}" on edge router "${listener.routerName}"`,
          this.confirmTimeoutMs,
        ),
      );
    }, this.confirmTimeoutMs);
    timer.unref();
    const settled = (): void => clearTimeout(timer);
    listener.once('established', settled);
    listener.once('close', settled);
  }

  /** A bind ended: replace it, at once if others still carry the service, else with backoff. */
  private lost(listener: EdgeListener, err: Error | undefined): void {
    this.binds.delete(listener);
    if (this.closed || err === undefined) return;
    this.lastCause = err;
    if (this.listening || this.outage) {
      this.schedule(0);
      return;
    }
    this.outage = { start: Date.now(), attempt: 1, cause: err };
    this.emit('state', { state: 'rebinding', attempt: 1, reason: err, delayMs: this.policy.initialDelayMs });
    this.schedule(this.policy.initialDelayMs);
  }

  private refill(): void {
    if (!this.outage && !this.retryTimer) void this.fill();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.fill();
    }, delayMs);
  }

  /** One bind attempt on a router that carries none of ours yet. */
  private async fill(): Promise<void> {
    if (this.closed || this.filling || this.binds.size >= this.target) return;
    this.filling = true;
    const exclude = new Set(this.routerNames);
    let listener: EdgeListener;
    try {
      listener = await this.binder(exclude, this.lastCause);
    } catch (err) {
      this.filling = false;
      this.failed(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.filling = false;
    if (this.closed) {
      void listener.close();
      return;
    }
    this.attach(listener);
    this.lastCause = undefined;
    const outage = this.outage;
    if (outage) {
      this.outage = undefined;
      const outageMs = Date.now() - outage.start;
      this.emit('state', {
        state: 'bound-again',
        router: listener.routerName,
        attempts: outage.attempt,
        outageMs,
      });
      this.emit('rebind', { router: listener.routerName, attempts: outage.attempt, cause: outage.cause });
    }
    if (this.binds.size < this.target) this.schedule(0);
  }

  private failed(err: Error): void {
    if (this.closed) return;
    this.lastCause = err;
    const outage = this.outage;
    if (!outage) {
      // Other binds still carry the service: look for another router on the next refill.
      return;
    }
    const elapsed = Date.now() - outage.start;
    const policy = this.policy;
    if (!policy.forever && (outage.attempt >= policy.maxAttempts || elapsed >= policy.maxOutageMs)) {
      this.closed = true;
      this.stopTimers();
      this.emit('error', new RebindFailedError(this.service, outage.attempt, elapsed, err));
      this.emit('close');
      return;
    }
    const delayMs = Math.min(policy.initialDelayMs * 2 ** outage.attempt, policy.maxDelayMs);
    outage.attempt += 1;
    this.emit('state', { state: 'rebinding', attempt: outage.attempt, reason: err, delayMs });
    this.schedule(delayMs);
  }
}
