/** Shapes the controller client hands out, mapped from the edge client API's JSON. */
import type { ZitiPermission } from '../errors.js';
import type { ZitiIdentity } from '../identity.js';

/** What the edge-router side needs from the current API session (the token goes into the channel hello). */
export interface ApiSessionInfo {
  id: string;
  token: string;
  identityId: string;
  identityName: string;
}

export interface ApiSessionDetail extends ApiSessionInfo {
  /** When the controller will drop the session unless it is refreshed. */
  expiresAt: Date;
  /** Lifetime the controller granted at the last refresh, in seconds. */
  expirationSeconds: number;
  /** Pending authentication queries (e.g. MFA); empty when fully authenticated. */
  authQueries: unknown[];
  /** How it was obtained: `legacy` (`POST /authenticate`, `zt-session` token) or `oidc` (bearer JWT). */
  method: AuthMethod;
  /** The certificate authenticator that logged in (needed to extend the certificate). */
  authenticatorId?: string;
  /** The controller asks this identity to extend its certificate now. */
  certExtendRequested?: boolean;
}

export type AuthMethod = 'legacy' | 'oidc';

export interface ZitiService {
  id: string;
  name: string;
  /** Both ends must use end-to-end encryption. */
  encryptionRequired: boolean;
  /** What this identity may do with the service. */
  permissions: ZitiPermission[];
  /** Service configs keyed by config type name (only the types asked for at authentication). */
  configs: Record<string, unknown>;
}

export interface EdgeRouterInfo {
  name: string;
  hostname: string;
  /** Addresses by protocol, e.g. `{tls: "tls://host:3022"}`. */
  urls: Record<string, string>;
  /** Present when the controller reports it (edge-router listings); sessions only list routers it deems usable. */
  isOnline?: boolean;
}

export interface ZitiSession {
  id: string;
  token: string;
  type: ZitiPermission;
  serviceId: string;
  edgeRouters: EdgeRouterInfo[];
}

export interface ControllerVersion {
  version: string;
  revision: string | undefined;
  buildDate: string | undefined;
  runtimeVersion: string | undefined;
  apiVersions: Record<string, unknown>;
  /** e.g. `OIDC_AUTH` when the controller serves the OIDC API, `HA_CONTROLLER` in a cluster. */
  capabilities: string[];
}

export interface SdkInfo {
  type: string;
  version: string;
  revision?: string;
  branch?: string;
  appId?: string;
  appVersion?: string;
}

export interface EnvInfo {
  os: string;
  arch: string;
  osRelease: string;
  osVersion: string;
  hostname?: string;
  domain?: string;
}

export interface ControllerClientOptions {
  /** Config types whose data services should carry (e.g. `intercept.v1`); `all` for every type. */
  configTypes?: string[];
  /** Per-request timeout. */
  timeoutMs?: number;
  sdkInfo?: Partial<SdkInfo>;
  envInfo?: EnvInfo;
  /** Keep the API session alive with a background timer (default true). */
  keepAlive?: boolean;
  /**
   * How to log in: `auto` (default) uses OIDC when the controller's `/version` lists `OIDC_AUTH` and the legacy
   * API session otherwise; `legacy` and `oidc` force one (`oidc` fails when the controller lacks it).
   */
  auth?: 'auto' | AuthMethod;
  /** Certificate renewal before expiry (see renew.ts); `false` turns it off. */
  renew?: RenewOptions | false;
}

export interface RenewOptions {
  /** Renew when the certificate has less than this left (default 7 days). */
  marginMs?: number;
  /** First retry delay after a failed renewal, doubling up to an hour (default 30 s). */
  retryMs?: number;
}

/** One HTTP exchange with the controller, as the `request` event reports it. */
export interface ControllerRequestInfo {
  method: string;
  /** URL path, e.g. `/edge/client/v1/authenticate` or `/oidc/oauth/token`. */
  path: string;
  status: number;
}

export interface RenewedInfo {
  file: string;
  previousNotAfter: Date;
  notAfter: Date;
}

export interface ControllerClientEvents {
  /** A new API session (first authentication or re-authentication): its token changed. */
  apiSession: [ApiSessionInfo];
  /** The controller no longer knows this API session (it answered 401); it was dropped and a login follows. */
  apiSessionLost: [ApiSessionInfo];
  /** A background refresh failed; it will be retried. */
  refreshFailed: [Error];
  /** A best-effort call nothing waits on failed (re-checking a slow request's API session, deleting a refused session). */
  backgroundFailed: [what: string, err: Error];
  /** OIDC: the access token was refreshed within the same API session (routers need the new token). */
  tokenRefreshed: [ApiSessionInfo];
  /** Every HTTP exchange with the controller (for diagnostics and tests). */
  request: [ControllerRequestInfo];
  /** The identity's certificate and key were replaced and have logged in (after a renewal). */
  identity: [ZitiIdentity];
  /** The certificate was renewed, the identity file rewritten and the new certificate has logged in. */
  renewed: [RenewedInfo];
  /** A renewal attempt failed; it will be retried. */
  renewFailed: [Error];
}
