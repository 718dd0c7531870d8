/**
 * A Ziti context: one identity, one controller client, one channel per edge router shared by every
 * connection. `dial` reaches a service, `bind` hosts one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ControllerClient, type ControllerClientOptions } from './controller/index.js';
import type { ZitiService, ZitiSession } from './controller/types.js';
import { newKeyPair } from './crypto/e2ee.js';
import { ChannelTimeoutError, HelloRejectedError } from './channel/errors.js';
import type { ReceiveHoldOptions } from './channel/receive-options.js';
import {
  AuthenticationFailedError,
  ConnectionClosedByRouterError,
  NoEdgeRouterError,
  NoPermissionError,
  ServiceNotFoundError,
} from './errors.js';
import { loadIdentity, type ZitiIdentity } from './identity.js';
import type { EdgeConn } from './edge/conn.js';
import type { EdgeRouter } from './edge/router.js';
import { BindFailedError, DialFailedError, ZitiClosedError } from './edge/errors.js';
import { untilRouterKnowsUs } from './edge/router-sync.js';
import type { Precedence } from './edge/messages.js';
import { RouterPool, type RouterStats } from './edge/pool.js';
import { updateRouterTokens } from './edge/token.js';
import { ZitiServer, type RebindPolicy } from './edge/server.js';

export interface ZitiContextOptions {
  controller?: ControllerClientOptions;
  /** TLS handshake + hello with an edge router (default 15 s). */
  connectTimeoutMs?: number;
  /** Default for dial and bind requests to a router (default 15 s). */
  requestTimeoutMs?: number;
  /** Idle-link probe interval and timeout for router channels. */
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Age after which a cached Dial/Bind session (and its router list) is fetched again (default 60 s). */
  sessionRefreshMs?: number;
  /** A dial or bind unanswered this long makes the context check its API session (default 1 s). */
  slowRequestMs?: number;
  /** Most bytes one connection may hold unread before it is closed (default 16 MiB; see docs/ziti.md). */
  connReceiveBufferBytes?: number;
  /**
   * When a connection whose reader is slower than its sender may pause its router channel, and for how long
   * (defaults: above 1 MiB unread, a reader active within 1 s, at most 2 s per hold; see docs/ziti.md).
   */
  connReceiveHold?: ReceiveHoldOptions;
  /**
   * How long a dial keeps trying while the router answers that the service has no host right now (its
   * server is re-binding); 0 fails at once (default 2 s; see docs/ziti.md).
   */
  dialRetryMs?: number;
  /**
   * How long a dial or bind keeps trying while the edge router answers that it does not know this identity,
   * the service or a policy granting access yet: routers learn them from the controller a moment after they
   * are created (default 20 s; 0 fails at once).
   */
  routerSyncWaitMs?: number;
}

export interface DialOptions {
  timeoutMs?: number;
  /** Told to the hosting side as the caller id; defaults to this identity's name. It is not authenticated. */
  callerId?: string;
  appData?: Buffer;
  /** Reach only the server that bound with this terminator identity. */
  terminatorIdentity?: string;
  /** Overrides the context's dialRetryMs for this dial. */
  dialRetryMs?: number;
}

export interface BindOptions {
  timeoutMs?: number;
  /** An instance id dialers may name to reach this server among several hosts of the service. */
  terminatorIdentity?: string;
  /** Routing cost 0..65535 among several hosts (lower preferred). */
  cost?: number;
  /** 'required' hosts are chosen before 'default' ones, 'failed' ones last. */
  precedence?: Precedence;
  rebind?: RebindPolicy;
  /** Binds to hold at once, each on a different edge router (default 2). */
  terminators?: number;
  /** How often to look for a router for a missing terminator (default 10 s). */
  refillIntervalMs?: number;
  /** Bound on server.close() per router before its channel is destroyed (default 5 s). */
  closeTimeoutMs?: number;
  /** A bind the router accepted but did not confirm within this time is replaced (default 20 s; 0: never). */
  confirmTimeoutMs?: number;
}

const INVALID_SESSION = /invalid session|session.*not found|api session|unauthori[sz]ed|not authorized/i;
const DIAL_ATTEMPTS = 3;
/** The controller's answers (v1.7.2) when a service has no terminator to route to, for now. */
const NO_HOST = /has no (online )?terminators/i;
const NO_HOST_PAUSE_MS = { first: 100, max: 500 };
const ROUTER_SYNC_WAIT_MS = 20_000;

interface CachedSession {
  service: ZitiService;
  session: ZitiSession;
  fetchedAt: number;
}

/**
 * Whether a router's answer may mean that the controller dropped our API session: a refused hello, a link
 * the router ended, an "invalid session" refusal, no router reachable, or no answer. The controller decides.
 */
function maySignalLostApiSession(err: unknown): boolean {
  if (
    err instanceof HelloRejectedError ||
    err instanceof ConnectionClosedByRouterError ||
    err instanceof NoEdgeRouterError ||
    err instanceof ChannelTimeoutError
  ) {
    return true;
  }
  return sessionRefused(err);
}

/** A dial refused because nothing hosts the service at this moment (e.g. its server is re-binding). */
function noHostYet(err: unknown): boolean {
  return err instanceof DialFailedError && NO_HOST.test(err.message);
}

/** A dial or bind refused for its session (invalid, unknown, or of another API session). */
function sessionRefused(err: unknown): boolean {
  return (
    (err instanceof DialFailedError || err instanceof BindFailedError) && INVALID_SESSION.test(err.message)
  );
}

export class ZitiContext {
  readonly identity: ZitiIdentity;
  readonly controller: ControllerClient;
  private readonly options: ZitiContextOptions;
  private readonly pool: RouterPool;
  /** Sessions by "type service": the controller hands out one valid session per API session, service and type. */
  private readonly sessions = new Map<string, Promise<CachedSession>>();
  private readonly servers = new Set<ZitiServer>();
  private readonly expired = new WeakSet<Promise<CachedSession>>();
  private readonly ownsController: boolean;
  private closed = false;
  /** Aborted by close(): ends the pauses of dials and binds waiting to try again. */
  private readonly closing = new AbortController();

  constructor(identity: ZitiIdentity, options: ZitiContextOptions = {}, controller?: ControllerClient) {
    this.identity = identity;
    this.options = options;
    this.ownsController = controller === undefined;
    this.controller = controller ?? new ControllerClient(identity, options.controller);
    const tls = this.controller.identity.tlsOptions();
    this.pool = new RouterPool({
      tls,
      apiSession: async () => this.controller.currentApiSession() ?? (await this.controller.authenticate()),
      currentApiSessionId: () => this.controller.currentApiSession()?.id,
      helloBody: identity.name,
      connectTimeoutMs: options.connectTimeoutMs,
      probeIntervalMs: options.probeIntervalMs,
      probeTimeoutMs: options.probeTimeoutMs,
      connReceiveBufferBytes: options.connReceiveBufferBytes,
      connReceiveHold: options.connReceiveHold,
    });
    // Sessions belong to an API session: a new API session needs new ones, and channels opened with another
    // API session (a hello that raced the login) refuse them.
    this.controller.on('apiSession', (s) => {
      this.sessions.clear();
      this.pool.retireOthers(
        s.id,
        new ConnectionClosedByRouterError('(all)', 'opened with an API session no longer in use'),
      );
    });
    // The controller dropped the API session: its sessions and every channel opened with it are dead.
    this.controller.on('apiSessionLost', () => {
      this.sessions.clear();
      this.pool.retireAll(
        new ConnectionClosedByRouterError('(all)', 'the controller ended the API session; logging in again'),
      );
    });
    // OIDC: open channels need each refreshed access token; a renewed certificate needs fresh channels.
    this.controller.on('tokenRefreshed', (s) => void updateRouterTokens(this.pool.list(), s.token));
    this.controller.on('identity', (next) => {
      Object.assign(tls, next.tlsOptions());
      for (const router of this.pool.list()) router.close();
    });
  }

  /** Loads an identity file and authenticates to its controller. */
  static async fromIdentityFile(file: string, options: ZitiContextOptions = {}): Promise<ZitiContext> {
    const identity = await loadIdentity(file);
    const ctx = new ZitiContext(identity, options);
    try {
      await ctx.controller.authenticate();
    } catch (err) {
      await ctx.close();
      throw err;
    }
    return ctx;
  }

  /** Open channels to edge routers and how many connections each carries. */
  routers(): RouterStats[] {
    return this.pool.stats();
  }

  /** Connects to a service. Fails with ServiceNotFoundError, NoDialPermissionError, NoEdgeRouterError, DialFailedError… */
  async dial(service: string, options: DialOptions = {}): Promise<EdgeConn> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 15_000;
    const retryUntil = Date.now() + (options.dialRetryMs ?? this.options.dialRetryMs ?? 2_000);
    let pauseMs = NO_HOST_PAUSE_MS.first;
    const tried = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      this.assertOpen();
      const { service: svc, session } = await this.session(service, 'Dial');
      if (session.edgeRouters.every((r) => !r.urls.tls || tried.has(r.name))) tried.clear();
      let routerName: string | undefined;
      try {
        const router = await this.pool.pick(service, session.edgeRouters, tried);
        routerName = router.name;
        return await this.refusable(service, 'Dial', session, router, () =>
          router.dial({
            service,
            sessionToken: session.token,
            encrypted: svc.encryptionRequired,
            callerId:
              options.callerId ?? this.controller.currentApiSession()?.identityName ?? this.identity.name,
            appData: options.appData,
            terminatorIdentity: options.terminatorIdentity,
            timeoutMs,
          }),
        );
      } catch (err) {
        // The service's host is away (a server between its binds): the same router will route the dial
        // once the host is back, so wait a little and ask again, until dialRetryMs has passed.
        if (noHostYet(err) && Date.now() + pauseMs <= retryUntil) {
          await this.pause(pauseMs);
          pauseMs = Math.min(pauseMs * 2, NO_HOST_PAUSE_MS.max);
          attempt -= 1;
          continue;
        }
        const retry = attempt < DIAL_ATTEMPTS && this.retryableDialError(err);
        if (!retry) throw err;
        const sessionTrouble = sessionRefused(err);
        if (routerName !== undefined && !sessionTrouble) tried.add(routerName);
        if (!(err instanceof ConnectionClosedByRouterError)) this.forgetSession(service, 'Dial');
        await this.recover(err);
      }
    }
  }

  /** Hosts a service; the server re-binds by itself after router outages. */
  async bind(service: string, options: BindOptions = {}): Promise<ZitiServer> {
    this.assertOpen();
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 15_000;
    const binder = async (exclude: ReadonlySet<string>, cause?: Error) => {
      this.assertOpen();
      // Something ended a bind or an attempt: read the router list again, and log in again if needed. Not
      // when the last attempt only found no router besides those already carrying a bind: the session's
      // refresh age covers that.
      if (cause && !(cause instanceof NoEdgeRouterError && exclude.size > 0)) {
        this.forgetSession(service, 'Bind');
        await this.recover(cause);
      }
      const { service: svc, session } = await this.session(service, 'Bind');
      const router = await this.pool.pick(service, session.edgeRouters, exclude);
      const keyPair = svc.encryptionRequired ? await newKeyPair() : undefined;
      return this.refusable(service, 'Bind', session, router, () =>
        router.bind({
          service,
          sessionToken: session.token,
          keyPair,
          terminatorIdentity: options.terminatorIdentity,
          cost: options.cost,
          precedence: options.precedence,
          timeoutMs,
        }),
      );
    };
    const server = new ZitiServer(service, binder, {
      rebind: options.rebind,
      terminators: options.terminators,
      refillIntervalMs: options.refillIntervalMs,
      closeTimeoutMs: options.closeTimeoutMs,
      confirmTimeoutMs: options.confirmTimeoutMs,
    });
    await server.start();
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** Unbinds every server, closes every channel (open connections end) and stops the controller client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await Promise.allSettled([...this.servers].map((s) => s.close()));
    this.pool.closeAll();
    if (this.ownsController) this.controller.close();
  }

  /** Waits `ms` between attempts; ends at once with ZitiClosedError when the context closes meanwhile. */
  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.closing.signal });
    } catch {
      throw new ZitiClosedError('the Ziti context');
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ZitiClosedError('the Ziti context');
  }

  /** The session for a service and type, shared by concurrent callers and reused until found invalid. */
  private session(service: string, type: 'Dial' | 'Bind'): Promise<CachedSession> {
    const key = `${type} ${service}`;
    let cached = this.sessions.get(key);
    const stale = cached && this.expired.has(cached) ? cached : undefined;
    if (stale) cached = undefined;
    if (!cached) {
      const refreshMs = this.options.sessionRefreshMs ?? 60_000;
      cached = (async () => {
        // A stale session keeps its token (the controller hands out one per API session, service and type,
        // and routers accept only the token it first issued); only its router list is read again. A new
        // session is created when the controller no longer has it.
        const old = await stale?.catch(() => undefined);
        if (old) {
          const refreshed = await this.controller.refreshSession(old.session).catch((err: unknown) => {
            if (err instanceof AuthenticationFailedError) throw err;
            return old.session;
          });
          if (refreshed) return { service: old.service, session: refreshed, fetchedAt: Date.now() };
        }
        const svc = await this.controller.getService(service);
        const session = await this.controller.createSession(svc, type);
        return { service: svc, session, fetchedAt: Date.now() };
      })();
      const fresh = cached;
      // Router lists change: a session older than refreshMs is fetched again on its next use.
      setTimeout(() => this.expired.add(fresh), refreshMs).unref();
      this.sessions.set(key, cached);
      const entry = cached;
      void entry.catch(() => this.forgetSession(service, type, entry));
    }
    return cached;
  }

  /**
   * Marks the cached session stale, so that its next use reads its router list again (or creates a new one
   * if the controller dropped it). `only`: a fetch that failed, dropped if it is still the cached entry.
   */
  private forgetSession(service: string, type: 'Dial' | 'Bind', only?: Promise<CachedSession>): void {
    const key = `${type} ${service}`;
    const entry = this.sessions.get(key);
    if (entry === undefined) return;
    if (only === undefined) this.expired.add(entry);
    else if (entry === only) this.sessions.delete(key);
  }

  /**
   * Runs a dial or bind with `session` on `router` (watched, see below). A refusal naming the session drops
   * that session: from the cache and on the controller, so that the next attempt gets a new token rather
   * than the refused one (the controller may still list a session a router no longer honours). A channel
   * opened with an API session no longer in use is closed too.
   */
  private async refusable<T>(
    service: string,
    type: 'Dial' | 'Bind',
    session: ZitiSession,
    router: EdgeRouter,
    request: () => Promise<T>,
  ): Promise<T> {
    try {
      return await untilRouterKnowsUs(() => this.watched(request()), {
        waitMs: this.options.routerSyncWaitMs ?? ROUTER_SYNC_WAIT_MS,
        check: () => this.loginStillValid(service, type),
        pause: (ms) => this.pause(ms),
      });
    } catch (err) {
      if (sessionRefused(err)) {
        await this.dropSession(service, type, session.id);
        if (!this.pool.current(router)) {
          router.close(
            new ConnectionClosedByRouterError(router.name, 'opened with an API session no longer in use'),
          );
        }
        await this.controller
          .deleteSession(session.id)
          .catch((e: unknown) => this.backgroundFailed(`deleting refused session ${session.id}`, e));
      }
      throw err;
    }
  }

  /**
   * Throws when the controller no longer allows the request: AuthenticationFailedError (identity deleted or
   * disabled), ServiceNotFoundError or NoPermissionError (service or policy gone). A controller that cannot be
   * asked is not a reason to stop waiting.
   */
  private async loginStillValid(service: string, type: 'Dial' | 'Bind'): Promise<void> {
    // Reading the session again asks the controller with this identity's login (a deleted identity's OIDC
    // token still looks valid here until it expires).
    this.forgetSession(service, type);
    try {
      await this.session(service, type);
    } catch (err) {
      if (
        err instanceof AuthenticationFailedError ||
        err instanceof ServiceNotFoundError ||
        err instanceof NoPermissionError
      )
        throw err;
    }
  }

  /** Reports a failed best-effort call on the controller client's `backgroundFailed` event. */
  private backgroundFailed(what: string, err: unknown): void {
    this.controller.emit('backgroundFailed', what, err instanceof Error ? err : new Error(String(err)));
  }

  /** Forgets the cached session of a service and type if it is `sessionId` (not one fetched since). */
  private async dropSession(service: string, type: 'Dial' | 'Bind', sessionId: string): Promise<void> {
    const key = `${type} ${service}`;
    const entry = this.sessions.get(key);
    const cached = await entry?.catch(() => undefined);
    if (cached?.session.id === sessionId && this.sessions.get(key) === entry) this.sessions.delete(key);
  }

  private retryableDialError(err: unknown): boolean {
    return maySignalLostApiSession(err) || err instanceof DialFailedError;
  }

  /**
   * A router that holds a dial or bind unanswered may be waiting for an API session the controller already
   * dropped. After `slowRequestMs` the controller is asked; if it dropped the session, the channels opened
   * with it are closed, which fails the request at once instead of after its timeout.
   */
  private async watched<T>(request: Promise<T>): Promise<T> {
    const timer = setTimeout(() => {
      this.controller
        .revalidate()
        .catch((e: unknown) => this.backgroundFailed('re-checking the API session', e));
    }, this.options.slowRequestMs ?? 1_000);
    try {
      return await request;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * After a failure that may mean the controller dropped our API session, ask the controller: it logs in
   * again when the session is gone (and rejects with AuthenticationFailedError when the identity is refused).
   */
  private async recover(err: unknown): Promise<void> {
    if (!maySignalLostApiSession(err) || this.closed) return;
    try {
      await this.controller.revalidate();
    } catch (check) {
      if (check instanceof AuthenticationFailedError) throw check;
      // The controller could not be asked (unreachable): the caller's own retry handles it.
    }
  }
}
