/**
 * OIDC login with the identity's certificate: the authorization-code flow with PKCE against the controller's
 * `edge-oidc` API, driven directly over HTTPS (no browser, no local callback server):
 *
 * 1. `GET <oidc>/authorize?client_id&response_type=code&scope=openid offline_access&redirect_uri&state&
 *    code_challenge&code_challenge_method=S256&method=cert` answers 302 to the login page; its query holds the
 *    auth request id.
 * 2. `POST <oidc>/login/cert` (JSON: the auth request id, config types, SDK and host info) authenticates by the
 *    client certificate of the TLS connection and answers 302 to `<oidc>/authorize/callback?id=…`.
 * 3. `GET` that callback answers 302 to `redirect_uri?code=…&state=…`; the redirect is never followed.
 * 4. `POST <oidc>/oauth/token` (`grant_type=authorization_code`, the code and the PKCE verifier) returns the
 *    access, refresh and ID tokens.
 *
 * Refresh: `POST <oidc>/oauth/token` with `grant_type=refresh_token`; the controller rotates the refresh token
 * (the old one is revoked) and keeps the API session id (`z_asid`) of the access token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AuthenticationFailedError, ControllerApiError } from '../errors.js';
import { isRecord, jsonBody, str } from './envelope.js';
import type { HttpResponse } from './http.js';
import type { ApiSessionDetail, ControllerVersion, EnvInfo, SdkInfo } from './types.js';

/** The controller's OIDC client for SDKs (`native` is the older alias). */
export const OIDC_CLIENT_ID = 'openziti';
/** Matches the controller's default redirect URI pattern `http://127.0.0.1:*\/auth/callback`; never contacted. */
export const OIDC_REDIRECT_URI = 'http://127.0.0.1:1/auth/callback';
/** The `/version` capability a controller with the OIDC API advertises. */
export const OIDC_CAPABILITY = 'OIDC_AUTH';

/** One HTTPS exchange as the OIDC flow needs it; the caller supplies TLS (client certificate) and timeouts. */
export type OidcSend = (req: {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: string;
}) => Promise<HttpResponse>;

export interface OidcTokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Lifetime of the access token in seconds, as granted. */
  expiresIn: number;
  receivedAt: Date;
}

export interface OidcLoginInput {
  /** The OIDC API base, e.g. `https://ctrl:1280/oidc`. */
  base: URL;
  /** Names the identity in errors. */
  identityLabel: string;
  configTypes: string[];
  sdkInfo: SdkInfo;
  envInfo: EnvInfo;
}

/**
 * Where the OIDC API is: the path the `/version` document gives for `edge-oidc` (normally `/oidc`) on the origin
 * the identity file names (an advertised address may differ from the one this host reaches the controller by).
 * Undefined when the controller does not advertise `OIDC_AUTH`.
 */
export function oidcBaseUrl(version: ControllerVersion, clientApi: URL): URL | undefined {
  if (!version.capabilities.includes(OIDC_CAPABILITY)) return undefined;
  const binding = version.apiVersions['edge-oidc'];
  const v1 = isRecord(binding) && isRecord(binding.v1) ? binding.v1 : {};
  return new URL(str(v1.path) ?? '/oidc', clientApi.origin);
}

/**
 * The OIDC API base to log in with, per the client's `auth` option (`auto` or `oidc`) and the controller's
 * `/version`: undefined means the legacy login. `oidc` on a controller without OIDC_AUTH is refused.
 */
export function chooseOidc(
  wanted: 'auto' | 'oidc',
  version: ControllerVersion,
  clientApi: URL,
  identityLabel: string,
): URL | undefined {
  const base = oidcBaseUrl(version, clientApi);
  if (base === undefined && wanted === 'oidc') {
    throw new AuthenticationFailedError(
      clientApi.origin,
      identityLabel,
      'OIDC login was asked for, but the controller does not advertise OIDC_AUTH in /version',
    );
  }
  return base;
}

/** The code verifier and its S256 challenge (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** Runs the whole login and returns the tokens. */
export async function oidcLogin(send: OidcSend, input: OidcLoginInput): Promise<OidcTokens> {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(12).toString('base64url');
  const authorize = endpoint(input.base, '/authorize');
  for (const [k, v] of [
    ['client_id', OIDC_CLIENT_ID],
    ['response_type', 'code'],
    ['scope', 'openid offline_access'],
    ['redirect_uri', OIDC_REDIRECT_URI],
    ['state', state],
    ['code_challenge', challenge],
    ['code_challenge_method', 'S256'],
    ['method', 'cert'],
  ] as const)
    authorize.searchParams.set(k, v);
  for (const t of input.configTypes) authorize.searchParams.append('configTypes', t);

  const first = await send({ method: 'GET', url: authorize });
  const loginUrl = redirectTarget(first, authorize, 'authorize');
  const requestId = loginUrl.searchParams.get('authRequestID') ?? loginUrl.searchParams.get('id');
  if (!requestId) throw flowError(authorize, first, 'the login redirect names no auth request');

  const login = endpoint(input.base, '/login/cert');
  const loginAnswer = await send({
    method: 'POST',
    url: login,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      id: requestId,
      configTypes: input.configTypes,
      sdkInfo: input.sdkInfo,
      envInfo: input.envInfo,
    }),
  });
  if (loginAnswer.status === 401 || loginAnswer.status === 403) {
    throw new AuthenticationFailedError(login.origin, input.identityLabel, bodyText(loginAnswer));
  }
  if (loginAnswer.status === 200 && jsonHasAuthQueries(loginAnswer)) {
    throw new AuthenticationFailedError(
      login.origin,
      input.identityLabel,
      'the controller asks for further authentication (e.g. MFA), which this SDK does not support',
    );
  }
  const callback = redirectTarget(loginAnswer, login, 'certificate login');
  const callbackAnswer = await send({ method: 'GET', url: callback });
  const final = redirectTarget(callbackAnswer, callback, 'authorize callback');
  const code = final.searchParams.get('code');
  if (final.searchParams.get('state') !== state || !code) {
    const why = final.searchParams.get('error_description') ?? final.searchParams.get('error');
    throw flowError(callback, callbackAnswer, why ?? 'the redirect carries no code or a wrong state');
  }
  return tokenRequest(send, input.base, input.identityLabel, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: OIDC_REDIRECT_URI,
    client_id: OIDC_CLIENT_ID,
    code_verifier: verifier,
  });
}

/** Exchanges the refresh token for new tokens. A refused refresh token is an AuthenticationFailedError. */
export function oidcRefresh(
  send: OidcSend,
  base: URL,
  identityLabel: string,
  refreshToken: string,
): Promise<OidcTokens> {
  return tokenRequest(send, base, identityLabel, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: OIDC_CLIENT_ID,
  });
}

async function tokenRequest(
  send: OidcSend,
  base: URL,
  identityLabel: string,
  form: Record<string, string>,
): Promise<OidcTokens> {
  const url = endpoint(base, '/oauth/token');
  const res = await send({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  const body = jsonBody(res);
  if (res.status !== 200 || !isRecord(body)) {
    const error = isRecord(body) ? str(body.error) : undefined;
    const detail = (isRecord(body) ? str(body.error_description) : undefined) ?? bodyText(res);
    if (error === 'invalid_grant' || error === 'invalid_client' || res.status === 401) {
      throw new AuthenticationFailedError(url.origin, identityLabel, `${error ?? res.status}: ${detail}`);
    }
    throw new ControllerApiError(url.href, res.status, error, detail);
  }
  const accessToken = str(body.access_token);
  if (!accessToken)
    throw new ControllerApiError(url.href, res.status, undefined, 'no access_token in answer');
  return {
    accessToken,
    refreshToken: str(body.refresh_token),
    idToken: str(body.id_token),
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 0,
    receivedAt: new Date(),
  };
}

/**
 * The claims of a JWT, unverified: the tokens arrive over TLS verified against the identity's CA bundle, and
 * the SDK reads only what the controller says about the session (id, identity, expiry); the controller and the
 * routers verify signatures when the token is presented.
 */
export function jwtClaims(token: string | undefined): Record<string, unknown> {
  const part = token?.split('.')[1];
  if (!part) return {};
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return isRecord(claims) ? claims : {};
  } catch {
    // Not a JWT: no claims to read.
    return {};
  }
}

/** The API session the tokens stand for, in the same shape as a legacy one. */
export function oidcApiSession(tokens: OidcTokens, url: string): ApiSessionDetail {
  const access = jwtClaims(tokens.accessToken);
  const id = jwtClaims(tokens.idToken);
  const sessionId = str(access.z_asid);
  const identityId = str(access.sub) ?? str(id.sub);
  if (!sessionId || !identityId) {
    throw new ControllerApiError(url, 200, undefined, 'the access token carries no API session or subject');
  }
  const exp = typeof access.exp === 'number' ? new Date(access.exp * 1000) : undefined;
  const expirationSeconds =
    tokens.expiresIn > 0
      ? tokens.expiresIn
      : exp
        ? Math.max(0, Math.floor((exp.getTime() - tokens.receivedAt.getTime()) / 1000))
        : 0;
  return {
    id: sessionId,
    token: tokens.accessToken,
    identityId,
    identityName: str(id.name) ?? identityId,
    expiresAt: exp ?? new Date(tokens.receivedAt.getTime() + expirationSeconds * 1000),
    expirationSeconds,
    authQueries: [],
    method: 'oidc',
    authenticatorId: str(access.z_authid),
    certExtendRequested: access.z_cer === true,
  };
}

function endpoint(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.search = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

function redirectTarget(res: HttpResponse, from: URL, step: string): URL {
  const location = res.headers.location;
  if ((res.status !== 302 && res.status !== 303) || typeof location !== 'string') {
    if (res.status === 401 || res.status === 403) throw flowError(from, res, `${step} refused`);
    throw flowError(from, res, `${step}: expected a redirect`);
  }
  return new URL(location, from);
}

function jsonHasAuthQueries(res: HttpResponse): boolean {
  const body = jsonBody(res);
  return isRecord(body) && Array.isArray(body.authQueries) && body.authQueries.length > 0;
}

function bodyText(res: HttpResponse): string {
  const text = res.body.toString('utf8').trim();
  if (text === '') return `HTTP ${res.status}`;
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function flowError(url: URL, res: HttpResponse, what: string): ControllerApiError {
  return new ControllerApiError(
    `${url.origin}${url.pathname}`,
    res.status,
    undefined,
    `${what} (${bodyText(res)})`,
  );
}
