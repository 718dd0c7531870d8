/**
 * Client for a controller's edge client API, authenticated by the identity's certificate (mutual TLS).
 * Holds one API session: a legacy one (`POST /authenticate`, kept alive with `GET /current-api-session`) or an
 * OIDC one (tokens from the controller's OIDC API, kept alive with the refresh token), and authenticates again
 * (once per failed request) when the controller answers 401.
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
import { CertificateRenewer } from '../renew.js';
import { apiError, envelopeData, errorDetail, isRecord } from './envelope.js';
import { DEFAULT_TIMEOUT_MS, httpsRequest, type HttpRequest, type HttpResponse } from './http.js';
import { clientApiUrl, defaultEnvInfo, defaultSdkInfo } from './info.js';
import { legacyLogin } from './legacy.js';
import { toApiSession, toEdgeRouter, toService, toSession, toVersion } from './mappers.js';
import {
  chooseOidc,
  oidcApiSession,
  oidcLogin,
  oidcRefresh,
  type OidcSend,
  type OidcTokens,
} from './oidc.js';
import { refreshDelayMs, retryDelayMs } from './refresh.js';
import type {
  ApiSessionDetail,
  ApiSessionInfo,
  AuthMethod,
  ControllerClientEvents,
  ControllerClientOptions,
  ControllerVersion,
  EdgeRouterInfo,
  EnvInfo,
  SdkInfo,
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
  /** The client API base, e.g. `https://ctrl:1280/edge/client/v1`. */
  readonly apiUrl: URL;
  private current: ZitiIdentity;
  private readonly options: ControllerClientOptions;
  private agent = newAgent();
  private session: ApiSessionDetail | undefined;
  private authenticating: Promise<ApiSessionDetail> | undefined;
  private refreshing: Promise<ApiSessionDetail> | undefined;
  /** OIDC API base once the controller was found to serve it; undefined = legacy login. */
  private oidc: URL | undefined;
  private methodChosen = false;
  private refreshToken: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** The identity's name as the controller last told it, kept for errors after the API session is gone. */
  private knownName: string | undefined;
  private loginFailure: { error: Error; count: number; until: number } | undefined;
  private closed = false;
  private readonly renewer: CertificateRenewer | undefined;

  constructor(identity: ZitiIdentity, options: ControllerClientOptions = {}) {
    super();
    this.current = identity;
    this.apiUrl = clientApiUrl(identity.ztAPI);
    this.options = options;
    if (options.renew !== false) this.renewer = new CertificateRenewer(this, options.renew ?? {});
  }

  /** The identity (certificate, key, CA bundle) the client authenticates with; replaced by a renewal. */
  get identity(): ZitiIdentity {
    return this.current;
  }

  /** How the current API session was obtained, if authenticated. */
  authMethod(): AuthMethod | undefined {
    return this.session?.method;
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
   * Takes up an API session this identity obtained earlier (in another process, say) instead of logging in.
   * Refused (false) once logged in, or when it expires within `marginMs`. A session the controller no longer
   * knows is found out at its first use and replaced by a login (a 401, or a router refusing it).
   */
  resumeApiSession(session: ApiSessionDetail, marginMs = 60_000): boolean {
    if (this.closed || this.session !== undefined || this.authenticating !== undefined) return false;
    if (session.expiresAt.getTime() - Date.now() < marginMs) return false;
    this.adopt({ ...session, authQueries: [] });
    return true;
  }

  /**
   * Checks the API session with the controller (a refresh, shared by concurrent callers) and, when the
   * controller no longer knows it, drops it and logs in again. Use it when a router refuses the session: the
   * answer tells a router's own trouble from a deleted or expired API session.
   */
  revalidate(): Promise<ApiSessionDetail> {
    return this.refresh();
  }

  /** Forgets `stale` (if it is still the current API session), tells listeners, and logs in again. */
  private dropAndLogin(stale: ApiSessionDetail): Promise<ApiSessionDetail> {
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

  /** Forgets the current API session and logs in again (e.g. with a renewed certificate). */
  async reauthenticate(): Promise<ApiSessionDetail> {
    await this.authenticating?.catch(() => undefined);
    this.session = undefined;
    this.refreshToken = undefined;
    this.loginFailure = undefined;
    return this.authenticate();
  }

  /**
   * Extends the API session: legacy `GET /current-api-session`, OIDC the refresh-token grant. Authenticates
   * again when the controller dropped the session or refused the refresh token.
   */
  refresh(): Promise<ApiSessionDetail> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<ApiSessionDetail> {
    const current = this.session;
    if (current === undefined) return this.authenticate();
    if (current.method === 'oidc') {
      if (this.oidc === undefined || this.refreshToken === undefined) return this.authenticate();
      let tokens: OidcTokens;
      try {
        tokens = await oidcRefresh(this.oidcSend(), this.oidc, this.identityLabel(), this.refreshToken);
      } catch (err) {
        if (err instanceof AuthenticationFailedError) return this.dropAndLogin(current);
        throw err;
      }
      return this.adoptTokens(tokens);
    }
    const res = await this.send('GET', '/current-api-session', {}, current);
    if (res.status === 401) return this.dropAndLogin(current);
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

  /** An authenticated `POST` of a JSON body to the client API; resolves to the answer's `data`. */
  post(path: string, body: unknown): Promise<unknown> {
    return this.data('POST', path, { body });
  }

  /** Uses another certificate and key for every later request (idle connections with the old ones are closed). */
  replaceIdentity(identity: ZitiIdentity): void {
    this.current = identity;
    const old = this.agent;
    this.agent = newAgent();
    old.destroy();
  }

  /** Renews the certificate now (normally done by a timer before expiry); see renew.ts. */
  renewCertificate(): Promise<void> {
    if (this.renewer === undefined) {
      return Promise.reject(new ZitiError('ZITI_RENEWAL_DISABLED', 'certificate renewal is turned off'));
    }
    return this.renewer.renewNow().then(() => undefined);
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
    this.refreshToken = undefined;
    if (current === undefined) return;
    const res = await this.send('DELETE', '/current-api-session', {}, current);
    // An OIDC session has nothing to delete there (404 on v1.7.2): its tokens simply expire.
    const gone = res.status === 401 || (current.method === 'oidc' && res.status === 404);
    if (res.status !== 200 && !gone) throw apiError(res, this.where('/current-api-session'));
  }

  /** Stops the keep-alive timer and closes idle connections. The client cannot be used afterwards. */
  close(): void {
    this.closed = true;
    this.stopTimer();
    this.renewer?.stop();
    this.agent.destroy();
  }

  private async doAuthenticate(): Promise<ApiSessionDetail> {
    if (!this.methodChosen) {
      const wanted = this.options.auth ?? 'auto';
      this.oidc =
        wanted === 'legacy'
          ? undefined
          : chooseOidc(wanted, await this.version(), this.apiUrl, this.identityLabel());
      this.methodChosen = true;
    }
    if (this.oidc === undefined) return this.legacyAuthenticate();
    const tokens = await oidcLogin(this.oidcSend(), { base: this.oidc, ...this.loginInfo() });
    return this.adoptTokens(tokens);
  }

  private adoptTokens(tokens: OidcTokens): ApiSessionDetail {
    const session = oidcApiSession(tokens, this.apiUrl.origin);
    if (tokens.refreshToken !== undefined) this.refreshToken = tokens.refreshToken;
    this.adopt(session);
    return session;
  }

  /** HTTPS for the OIDC flow: the identity's certificate, reported as `request` events. */
  private oidcSend(): OidcSend {
    return (req) => this.exchange({ ...req, tls: this.current.tlsOptions() });
  }

  private async legacyAuthenticate(): Promise<ApiSessionDetail> {
    const session = await legacyLogin({
      post: (body) => this.send('POST', '/authenticate', { body, query: [['method', 'cert']] }, undefined),
      where: this.where('/authenticate'),
      origin: this.apiUrl.origin,
      ...this.loginInfo(),
    });
    this.adopt(session);
    return session;
  }

  private loginInfo(): { identityLabel: string; configTypes: string[]; sdkInfo: SdkInfo; envInfo: EnvInfo } {
    return {
      identityLabel: this.identityLabel(),
      configTypes: this.options.configTypes ?? [],
      sdkInfo: defaultSdkInfo(this.options.sdkInfo),
      envInfo: this.options.envInfo ?? defaultEnvInfo(),
    };
  }

  private adopt(session: ApiSessionDetail): void {
    const previous = this.session;
    this.session = session;
    this.knownName = session.identityName || this.knownName;
    this.failures = 0;
    this.schedule(refreshDelayMs(session.expirationSeconds, session.expiresAt));
    if (previous?.token !== session.token) {
      const sameSession = previous?.id === session.id && session.method === 'oidc';
      this.emit(sameSession ? 'tokenRefreshed' : 'apiSession', this.currentApiSession()!);
    }
    this.renewer?.sessionChanged(session);
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
    const res = await this.send(method, path, opts, session);
    if (res.status !== 401) return res;
    const fresh =
      this.session !== undefined && this.session.token !== session.token
        ? this.session
        : await this.dropAndLogin(session);
    return this.send(method, path, opts, fresh);
  }

  /** One edge client API request; the session's token goes as `zt-session` (legacy) or a bearer token (OIDC). */
  private send(
    method: Method,
    path: string,
    opts: CallOptions,
    session: ApiSessionDetail | undefined,
  ): Promise<HttpResponse> {
    const url = new URL(this.apiUrl.href);
    url.pathname = `${this.apiUrl.pathname}${path}`;
    for (const [k, v] of opts.query ?? []) url.searchParams.append(k, v);
    const headers: Record<string, string> = {};
    if (session?.method === 'oidc') headers.authorization = `Bearer ${session.token}`;
    else if (session !== undefined) headers['zt-session'] = session.token;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    return this.exchange({ url, method, headers, body, tls: this.current.tlsOptions() });
  }

  private async exchange(req: Omit<HttpRequest, 'agent' | 'timeoutMs'>): Promise<HttpResponse> {
    if (this.closed) {
      throw new ZitiError('ZITI_CLIENT_CLOSED', `controller client for ${this.apiUrl.origin} is closed`);
    }
    const res = await httpsRequest({
      ...req,
      agent: this.agent,
      timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    this.emit('request', { method: req.method, path: req.url.pathname, status: res.status });
    return res;
  }

  private where(path: string): string {
    return `${this.apiUrl.origin}${this.apiUrl.pathname}${path}`;
  }

  private identityLabel(): string {
    const name = this.session?.identityName ?? this.knownName;
    return name ?? `${this.current.name} (${this.current.file})`;
  }
}

function newAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 4 });
}
