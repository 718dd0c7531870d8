/**
 * Client for a controller's edge client API, authenticated by the identity's certificate (mutual TLS).
 * Holds one API session, keeps it alive with `GET /current-api-session` before it expires, and
 * authenticates again (once per failed request) when the controller answers 401.
 */
import { EventEmitter } from 'node:events';
import { Agent } from 'node:https';
import {
  AuthenticationFailedError,
  NoEdgeRouterError,
  ServiceNotFoundError,
  ZitiError,
  noPermissionError,
  type ZitiPermission,
} from '../errors.js';
import type { ZitiIdentity } from '../identity.js';
import { apiError, envelopeData, errorDetail, isRecord } from './envelope.js';
import { DEFAULT_TIMEOUT_MS, httpsRequest, type HttpResponse } from './http.js';
import { clientApiUrl, defaultEnvInfo, defaultSdkInfo } from './info.js';
import { toApiSession, toEdgeRouter, toService, toSession, toVersion } from './mappers.js';
import { refreshDelayMs, retryDelayMs } from './refresh.js';
import type {
  ApiSessionDetail,
  ApiSessionInfo,
  ControllerClientEvents,
  ControllerClientOptions,
  ControllerVersion,
  EdgeRouterInfo,
  ZitiService,
  ZitiSession,
} from './types.js';

type Method = 'GET' | 'POST' | 'DELETE';
interface CallOptions {
  body?: unknown;
  query?: Array<[string, string]>;
  auth?: boolean;
}

/** Wait before another login after `failures` failed ones in a row: 0 after the first, then 1 s doubling to 30 s. */
export function loginBackoffMs(failures: number): number {
  return failures <= 1 ? 0 : Math.min(1_000 * 2 ** (failures - 2), 30_000);
}

const PAGE_LIMIT = 500;
const MAX_PAGES = 100;

export class ControllerClient extends EventEmitter<ControllerClientEvents> {
  readonly identity: ZitiIdentity;
  /** The client API base, e.g. `https://ctrl:1280/edge/client/v1`. */
  readonly apiUrl: URL;
  private readonly options: ControllerClientOptions;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  private session: ApiSessionDetail | undefined;
  private authenticating: Promise<ApiSessionDetail> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** The identity's name as the controller last told it, kept for errors after the API session is gone. */
  private knownName: string | undefined;
  private revalidating: Promise<ApiSessionDetail> | undefined;
  private loginFailure: { error: Error; count: number; until: number } | undefined;
  private closed = false;

  constructor(identity: ZitiIdentity, options: ControllerClientOptions = {}) {
    super();
    this.identity = identity;
    this.apiUrl = clientApiUrl(identity.ztAPI);
    this.options = options;
  }

  /** The current API session, if authenticated. */
  currentApiSession(): ApiSessionInfo | undefined {
    const s = this.session;
    return s && { id: s.id, token: s.token, identityId: s.identityId, identityName: s.identityName };
  }

  /** Full detail of the current API session (expiry included), if authenticated. */
  apiSessionDetail(): ApiSessionDetail | undefined {
    return this.session && { ...this.session };
  }

  /**
   * Authenticates with the identity's certificate; concurrent callers share one attempt. After a failed
   * attempt the next one waits out a backoff (see `loginBackoffMs`): callers meanwhile get the same error.
   */
  authenticate(): Promise<ApiSessionDetail> {
    const failed = this.loginFailure;
    if (failed && Date.now() < failed.until) return Promise.reject(failed.error);
    this.authenticating ??= this.doAuthenticate().then(
      (session) => {
        this.authenticating = undefined;
        this.loginFailure = undefined;
        return session;
      },
      (err: unknown) => {
        this.authenticating = undefined;
        const count = (this.loginFailure?.count ?? 0) + 1;
        const error = err instanceof Error ? err : new Error(String(err));
        this.loginFailure = { error, count, until: Date.now() + loginBackoffMs(count) };
        throw error;
      },
    );
    return this.authenticating;
  }

  /**
   * Checks the API session with the controller and, when the controller no longer knows it (401), drops it
   * and logs in again. Use it when a router refuses the session: the answer tells a router's own trouble from
   * a deleted or expired API session. Concurrent callers share one check.
   */
  revalidate(): Promise<ApiSessionDetail> {
    this.revalidating ??= this.refresh().finally(() => {
      this.revalidating = undefined;
    });
    return this.revalidating;
  }

  /** Forgets `stale` (if it is still the current API session) and logs in again. */
  private reauthenticate(stale: ApiSessionDetail): Promise<ApiSessionDetail> {
    if (this.session?.token === stale.token) {
      this.session = undefined;
      this.stopTimer();
      this.emit('apiSessionLost', {
        id: stale.id,
        token: stale.token,
        identityId: stale.identityId,
        identityName: stale.identityName,
      });
    }
    return this.authenticate();
  }

  /** Extends the API session (`GET /current-api-session`); authenticates again if the controller dropped it. */
  async refresh(): Promise<ApiSessionDetail> {
    const current = this.session;
    if (current === undefined) return this.authenticate();
    const res = await this.send('GET', '/current-api-session', {}, current.token);
    if (res.status === 401) return this.reauthenticate(current);
    if (res.status !== 200) throw apiError(res, this.where('/current-api-session'));
    const next = toApiSession(envelopeData(res, this.where('/current-api-session')), this.apiUrl.origin);
    this.adopt(next);
    return next;
  }

  async version(): Promise<ControllerVersion> {
    const data = await this.data('GET', '/version', { auth: false });
    return toVersion(data, this.apiUrl.origin);
  }

  /** Looks a service up by exact name. Throws ServiceNotFoundError when this identity cannot see it. */
  async getService(name: string): Promise<ZitiService> {
    const escaped = name.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    const list = await this.services([
      ['filter', `name="${escaped}"`],
      ['limit', '2'],
    ]);
    const found = list.find((s) => s.name === name);
    if (found === undefined) throw new ServiceNotFoundError(name, this.identityLabel());
    return found;
  }

  /** Every service this identity may Dial or Bind. */
  async listServices(): Promise<ZitiService[]> {
    const out: ZitiService[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const list = await this.services([
        ['limit', String(PAGE_LIMIT)],
        ['offset', String(page * PAGE_LIMIT)],
      ]);
      out.push(...list);
      if (list.length < PAGE_LIMIT) break;
    }
    return out;
  }

  /**
   * Creates a Dial or Bind session (`POST /sessions`). Pass the ZitiService to get its name in errors and a
   * permission check before asking the controller.
   */
  async createSession(service: ZitiService | string, type: ZitiPermission): Promise<ZitiSession> {
    const serviceId = typeof service === 'string' ? service : service.id;
    const label = typeof service === 'string' ? service : service.name;
    if (typeof service !== 'string' && !service.permissions.includes(type)) {
      throw noPermissionError(label, this.identityLabel(), type);
    }
    const res = await this.call('POST', '/sessions', { body: { serviceId, type } });
    if (res.status === 200 || res.status === 201) {
      const session = toSession(envelopeData(res, this.where('/sessions')), this.apiUrl.origin);
      if (session.edgeRouters.length === 0) throw new NoEdgeRouterError(label, 'the controller listed none');
      return session;
    }
    const detail = errorDetail(res);
    if (detail.code === 'NO_EDGE_ROUTERS_AVAILABLE') throw new NoEdgeRouterError(label, detail.message);
    if (res.status === 400 || res.status === 403 || res.status === 404) {
      throw noPermissionError(label, this.identityLabel(), type, {
        cause: apiError(res, this.where('/sessions')),
      });
    }
    throw apiError(res, this.where('/sessions'));
  }

  /**
   * The current state of a Dial/Bind session (`GET /sessions/<id>`), chiefly its edge router list; the token
   * stays the same. Undefined when the controller no longer has it.
   */
  async refreshSession(session: ZitiSession): Promise<ZitiSession | undefined> {
    const path = `/sessions/${encodeURIComponent(session.id)}`;
    const res = await this.call('GET', path, {});
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw apiError(res, this.where(path));
    const data = envelopeData(res, this.where(path));
    if (!isRecord(data)) return undefined;
    const fresh = toSession({ type: session.type, ...data, token: session.token }, this.apiUrl.origin);
    return { ...session, edgeRouters: fresh.edgeRouters };
  }

  async deleteSession(sessionId: string): Promise<void> {
    const path = `/sessions/${encodeURIComponent(sessionId)}`;
    const res = await this.call('DELETE', path, {});
    if (res.status !== 200 && res.status !== 404) throw apiError(res, this.where(path));
  }

  /** Edge routers this identity may use (`GET /current-identity/edge-routers`). */
  async listEdgeRouters(): Promise<EdgeRouterInfo[]> {
    const data = await this.data('GET', '/current-identity/edge-routers', {
      query: [['limit', String(PAGE_LIMIT)]],
    });
    return (Array.isArray(data) ? data : []).map((r) => toEdgeRouter(r, this.apiUrl.origin));
  }

  /** Ends the API session on the controller (`DELETE /current-api-session`) and stops the keep-alive. */
  async logout(): Promise<void> {
    this.stopTimer();
    const current = this.session;
    this.session = undefined;
    if (current === undefined) return;
    const res = await this.send('DELETE', '/current-api-session', {}, current.token);
    if (res.status !== 200 && res.status !== 401) throw apiError(res, this.where('/current-api-session'));
  }

  /** Stops the keep-alive timer and closes idle connections. The client cannot be used afterwards. */
  close(): void {
    this.closed = true;
    this.stopTimer();
    this.agent.destroy();
  }

  private async doAuthenticate(): Promise<ApiSessionDetail> {
    const body = {
      configTypes: this.options.configTypes ?? [],
      sdkInfo: defaultSdkInfo(this.options.sdkInfo),
      envInfo: this.options.envInfo ?? defaultEnvInfo(),
    };
    const where = this.where('/authenticate');
    const res = await this.send('POST', '/authenticate', { body, query: [['method', 'cert']] }, undefined);
    if (res.status === 401 || res.status === 403) {
      throw new AuthenticationFailedError(this.apiUrl.origin, this.identityLabel(), errorDetail(res).message);
    }
    if (res.status !== 200) throw apiError(res, where);
    const session = toApiSession(envelopeData(res, where), this.apiUrl.origin);
    if (session.authQueries.length > 0) {
      throw new AuthenticationFailedError(
        this.apiUrl.origin,
        this.identityLabel(),
        'the controller asks for further authentication (e.g. MFA), which this SDK does not support',
      );
    }
    this.adopt(session);
    return session;
  }

  private adopt(session: ApiSessionDetail): void {
    const changed = this.session?.token !== session.token;
    this.session = session;
    this.knownName = session.identityName || this.knownName;
    this.failures = 0;
    this.schedule(refreshDelayMs(session.expirationSeconds, session.expiresAt));
    if (changed) this.emit('apiSession', this.currentApiSession()!);
  }

  private schedule(delayMs: number): void {
    this.stopTimer();
    if (this.closed || this.options.keepAlive === false) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch((err: unknown) => {
        this.failures += 1;
        this.emit('refreshFailed', err instanceof Error ? err : new Error(String(err)));
        this.schedule(retryDelayMs(this.failures));
      });
    }, delayMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async services(query: Array<[string, string]>): Promise<ZitiService[]> {
    for (const t of this.options.configTypes ?? []) query.push(['configTypes', t]);
    const data = await this.data('GET', '/services', { query });
    return (Array.isArray(data) ? data : []).map((s) => toService(s, this.apiUrl.origin));
  }

  private async data(method: Method, path: string, opts: CallOptions): Promise<unknown> {
    const res = await this.call(method, path, opts);
    if (res.status !== 200 && res.status !== 201) throw apiError(res, this.where(path));
    return envelopeData(res, this.where(path));
  }

  /** An API call; authenticated calls re-authenticate once and retry when the controller answers 401. */
  private async call(method: Method, path: string, opts: CallOptions): Promise<HttpResponse> {
    if (opts.auth === false) return this.send(method, path, opts, undefined);
    const session = this.session ?? (await this.authenticate());
    const res = await this.send(method, path, opts, session.token);
    if (res.status !== 401) return res;
    const fresh =
      this.session !== undefined && this.session.token !== session.token
        ? this.session
        : await this.reauthenticate(session);
    return this.send(method, path, opts, fresh.token);
  }

  private send(
    method: Method,
    path: string,
    opts: CallOptions,
    token: string | undefined,
  ): Promise<HttpResponse> {
    if (this.closed)
      return Promise.reject(
        new ZitiError('ZITI_CLIENT_CLOSED', `controller client for ${this.apiUrl.origin} is closed`),
      );
    const url = new URL(this.apiUrl.href);
    url.pathname = `${this.apiUrl.pathname}${path}`;
    for (const [k, v] of opts.query ?? []) url.searchParams.append(k, v);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['zt-session'] = token;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    return httpsRequest({
      url,
      method,
      headers,
      body,
      tls: this.identity.tlsOptions(),
      agent: this.agent,
      timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  private where(path: string): string {
    return `${this.apiUrl.origin}${this.apiUrl.pathname}${path}`;
  }

  private identityLabel(): string {
    const name = this.session?.identityName ?? this.knownName;
    return name ?? `${this.identity.name} (${this.identity.file})`;
  }
}
