/**
 * One channel per edge router, shared by every dial and bind of a context. For a session's routers it
 * reuses an open channel (the lowest-latency one) or connects to all of them at once and takes the first
 * that completes the hello; the others are kept for later use. Closed channels are dropped, so the next
 * request connects again (failover after a router restart).
 */
import { connectChannel, type ChannelTlsMaterial } from '../channel/connect.js';
import type { ReceiveHoldOptions } from '../channel/receive-options.js';
import { ConnectionClosedByRouterError, NoEdgeRouterError } from '../errors.js';
import { ZitiClosedError } from './errors.js';
import { EdgeRouter } from './router.js';

export interface RouterAddressInfo {
  name: string;
  urls: Record<string, string>;
}

export interface RouterPoolOptions {
  tls: ChannelTlsMaterial;
  /** The API session for the hello (authenticates first if needed). */
  apiSession: () => Promise<{ id: string; token: string }>;
  /** The id of the API session in use now, if any: a channel opened with another one is not kept. */
  currentApiSessionId: () => string | undefined;
  /** Hello body: the identity's name. */
  helloBody: string;
  connectTimeoutMs?: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  connReceiveBufferBytes?: number;
  connReceiveHold?: ReceiveHoldOptions;
}

export interface RouterStats {
  name: string;
  url: string;
  channelId: number;
  connections: number;
  latencyMs: number | undefined;
}

export class RouterPool {
  private readonly options: RouterPoolOptions;
  private readonly routers = new Map<string, EdgeRouter>();
  private readonly connecting = new Map<string, Promise<EdgeRouter>>();
  /** Ends the connects under way when the pool closes. */
  private readonly abandon = new AbortController();
  /** The API session each channel's hello carried. */
  private readonly apiSessionOf = new WeakMap<EdgeRouter, string>();
  private closed = false;

  constructor(options: RouterPoolOptions) {
    this.options = options;
  }

  /** Open routers. */
  list(): EdgeRouter[] {
    return [...this.routers.values()].filter((r) => !r.closed);
  }

  stats(): RouterStats[] {
    return this.list().map((r) => ({
      name: r.name,
      url: r.url,
      channelId: r.channel.id,
      connections: r.connCount,
      latencyMs: r.channel.latencyMs,
    }));
  }

  /**
   * A router for a session: an open one among `candidates` if any, else the first to connect.
   * Throws NoEdgeRouterError (with every router's failure) when none can be reached.
   */
  async pick(
    service: string,
    candidates: RouterAddressInfo[],
    exclude: ReadonlySet<string> = new Set(),
  ): Promise<EdgeRouter> {
    if (this.closed) throw new ZitiClosedError('the Ziti context');
    const offered = candidates
      .map((c) => ({ name: c.name, url: c.urls.tls }))
      .filter((c): c is { name: string; url: string } => typeof c.url === 'string' && c.url !== '');
    if (offered.length === 0) throw new NoEdgeRouterError(service, 'no edge router offers a tls:// address');
    const usable = offered.filter((c) => !exclude.has(c.name));
    if (usable.length === 0) {
      throw new NoEdgeRouterError(service, `no edge router other than ${[...exclude].join(', ')}`);
    }
    const open = usable
      .map((c) => this.routers.get(c.url))
      .filter((r): r is EdgeRouter => r !== undefined && !r.closed)
      .sort((a, b) => (a.channel.latencyMs ?? Infinity) - (b.channel.latencyMs ?? Infinity));
    if (open[0]) return open[0];
    const attempts = usable.map((c) => this.connect(c.name, c.url));
    try {
      return await Promise.any(attempts);
    } catch (err) {
      const reasons =
        err instanceof AggregateError ? err.errors.map((e: unknown) => (e as Error).message) : [String(err)];
      throw new NoEdgeRouterError(service, reasons.join('; '), { cause: err });
    }
  }

  /** Connects to one router unless a connection to it is open or under way. */
  connect(name: string, url: string): Promise<EdgeRouter> {
    const existing = this.routers.get(url);
    if (existing && !existing.closed) return Promise.resolve(existing);
    let pending = this.connecting.get(url);
    if (!pending) {
      pending = this.open(name, url).finally(() => this.connecting.delete(url));
      this.connecting.set(url, pending);
    }
    return pending;
  }

  /**
   * Closes every open channel, the pool staying usable: the controller dropped the API session they were
   * opened with, so the routers no longer serve them. Their connections and binds end with `reason`.
   */
  retireAll(reason: Error): void {
    for (const router of [...this.routers.values()]) router.close(reason);
  }

  /**
   * Closes the channels opened with an API session other than `apiSessionId`: a router refuses a service
   * session of one API session on a channel opened with another.
   */
  retireOthers(apiSessionId: string, reason: Error): void {
    for (const router of [...this.routers.values()]) {
      if (this.apiSessionOf.get(router) !== apiSessionId) router.close(reason);
    }
  }

  /** Whether `router`'s channel was opened with the API session in use now. */
  current(router: EdgeRouter): boolean {
    return this.apiSessionOf.get(router) === this.options.currentApiSessionId();
  }

  closeAll(): void {
    this.closed = true;
    this.abandon.abort();
    for (const router of this.routers.values()) router.close();
    this.routers.clear();
  }

  /**
   * Connects with the current API session. A login that replaced the API session during the hello (its
   * channels were retired meanwhile) makes it connect once more with the new one.
   */
  private async open(name: string, url: string): Promise<EdgeRouter> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.options.apiSession();
      const router = await this.openWith(name, url, session);
      if (this.options.currentApiSessionId() === session.id) return router;
      const stale = new ConnectionClosedByRouterError(name, 'opened with an API session no longer in use');
      router.close(stale);
      if (attempt >= 2) throw stale;
    }
  }

  private async openWith(
    name: string,
    url: string,
    session: { id: string; token: string },
  ): Promise<EdgeRouter> {
    const channel = await connectChannel({
      url,
      tls: this.options.tls,
      apiSessionToken: session.token,
      helloBody: this.options.helloBody,
      label: name,
      connectTimeoutMs: this.options.connectTimeoutMs,
      probeIntervalMs: this.options.probeIntervalMs,
      probeTimeoutMs: this.options.probeTimeoutMs,
      connReceiveBufferBytes: this.options.connReceiveBufferBytes,
      connReceiveHold: this.options.connReceiveHold,
      signal: this.abandon.signal,
    });
    if (this.closed) {
      channel.close();
      throw new ZitiClosedError('the Ziti context');
    }
    const router = new EdgeRouter(channel, name, url);
    this.apiSessionOf.set(router, session.id);
    this.routers.set(url, router);
    router.once('close', () => {
      if (this.routers.get(url) === router) this.routers.delete(url);
    });
    return router;
  }
}
