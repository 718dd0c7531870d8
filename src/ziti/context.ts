/**
 * A Ziti context: one identity, one controller client, one channel per edge router shared by every
 * connection. `dial` reaches a service, `bind` hosts one.
 */
import { ControllerClient, type ControllerClientOptions } from './controller/index.js';
import type { ZitiService, ZitiSession } from './controller/types.js';
import { newKeyPair } from './crypto/e2ee.js';
import { ConnectionClosedByRouterError } from './errors.js';
import { loadIdentity, type ZitiIdentity } from './identity.js';
import type { EdgeConn } from './edge/conn.js';
import { DialFailedError, ZitiClosedError } from './edge/errors.js';
import type { Precedence } from './edge/messages.js';
import { RouterPool, type RouterStats } from './edge/pool.js';
import { updateRouterTokens } from './edge/token.js';
import type { EdgeRouter } from './edge/router.js';
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
  /** Most bytes one connection may hold unread before it is closed (default 4 MiB; see docs/ziti.md). */
  connReceiveBufferBytes?: number;
}

export interface DialOptions {
  timeoutMs?: number;
  /** Told to the hosting side as the caller id; defaults to this identity's name. It is not authenticated. */
  callerId?: string;
  appData?: Buffer;
  /** Reach only the server that bound with this terminator identity. */
  terminatorIdentity?: string;
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
}

const INVALID_SESSION = /invalid session|session.*not found/i;

interface CachedSession {
  service: ZitiService;
  session: ZitiSession;
}

export class ZitiContext {
  readonly identity: ZitiIdentity;
  readonly controller: ControllerClient;
  private readonly options: ZitiContextOptions;
  private readonly pool: RouterPool;
  /** Sessions by "type service": the controller hands out one valid session per API session, service and type. */
  private readonly sessions = new Map<string, Promise<CachedSession>>();
  private readonly servers = new Set<ZitiServer>();
  private readonly ownsController: boolean;
  private closed = false;

  constructor(identity: ZitiIdentity, options: ZitiContextOptions = {}, controller?: ControllerClient) {
    this.identity = identity;
    this.options = options;
    this.ownsController = controller === undefined;
    this.controller = controller ?? new ControllerClient(identity, options.controller);
    const tls = this.controller.identity.tlsOptions();
    this.pool = new RouterPool({
      tls,
      apiSessionToken: async () =>
        (this.controller.currentApiSession() ?? (await this.controller.authenticate())).token,
      helloBody: identity.name,
      connectTimeoutMs: options.connectTimeoutMs,
      probeIntervalMs: options.probeIntervalMs,
      probeTimeoutMs: options.probeTimeoutMs,
      connReceiveBufferBytes: options.connReceiveBufferBytes,
    });
    // Sessions belong to an API session: a new API session needs new ones.
    this.controller.on('apiSession', () => this.sessions.clear());
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
    const tried = new Set<EdgeRouter>();
    for (let attempt = 1; ; attempt++) {
      this.assertOpen();
      const { service: svc, session } = await this.session(service, 'Dial');
      const router = await this.pool.pick(service, session.edgeRouters, tried);
      try {
        return await router.dial({
          service,
          sessionToken: session.token,
          encrypted: svc.encryptionRequired,
          callerId:
            options.callerId ?? this.controller.currentApiSession()?.identityName ?? this.identity.name,
          appData: options.appData,
          terminatorIdentity: options.terminatorIdentity,
          timeoutMs,
        });
      } catch (err) {
        const retry = attempt < 3 && this.retryableDialError(err);
        if (!retry) throw err;
        tried.add(router);
        if (err instanceof DialFailedError) this.forgetSession(service, 'Dial');
      }
    }
  }

  /** Hosts a service; the server re-binds by itself after router outages. */
  async bind(service: string, options: BindOptions = {}): Promise<ZitiServer> {
    this.assertOpen();
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 15_000;
    const binder = async (cause?: Error) => {
      this.assertOpen();
      if (cause && INVALID_SESSION.test(cause.message)) this.forgetSession(service, 'Bind');
      const { service: svc, session } = await this.session(service, 'Bind');
      const router = await this.pool.pick(service, session.edgeRouters);
      const keyPair = svc.encryptionRequired ? await newKeyPair() : undefined;
      return router.bind({
        service,
        sessionToken: session.token,
        keyPair,
        terminatorIdentity: options.terminatorIdentity,
        cost: options.cost,
        precedence: options.precedence,
        timeoutMs,
      });
    };
    const server = new ZitiServer(service, binder, options.rebind);
    await server.start();
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** Unbinds every server, closes every channel (open connections end) and stops the controller client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.servers].map((s) => s.close()));
    this.pool.closeAll();
    if (this.ownsController) this.controller.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ZitiClosedError('the Ziti context');
  }

  /** The session for a service and type, shared by concurrent callers and reused until found invalid. */
  private session(service: string, type: 'Dial' | 'Bind'): Promise<CachedSession> {
    const key = `${type} ${service}`;
    let cached = this.sessions.get(key);
    if (!cached) {
      cached = (async () => {
        const svc = await this.controller.getService(service);
        const session = await this.controller.createSession(svc, type);
        return { service: svc, session };
      })();
      this.sessions.set(key, cached);
      const entry = cached;
      void entry.catch(() => this.forgetSession(service, type, entry));
    }
    return cached;
  }

  private forgetSession(service: string, type: 'Dial' | 'Bind', only?: Promise<CachedSession>): void {
    const key = `${type} ${service}`;
    if (only === undefined || this.sessions.get(key) === only) this.sessions.delete(key);
  }

  private retryableDialError(err: unknown): boolean {
    if (err instanceof ConnectionClosedByRouterError) return true;
    return err instanceof DialFailedError && INVALID_SESSION.test(err.message);
  }
}
