/** Maps edge client API JSON to the SDK's types, checking the fields the SDK relies on. */
import { ControllerApiError, type ZitiPermission } from '../errors.js';
import { isRecord, str } from './envelope.js';
import type {
  ApiSessionDetail,
  ControllerVersion,
  EdgeRouterInfo,
  ZitiService,
  ZitiSession,
} from './types.js';

function bad(url: string, what: string): ControllerApiError {
  return new ControllerApiError(url, 200, undefined, `unexpected answer: ${what}`);
}

export function toApiSession(data: unknown, url: string, receivedAt: Date = new Date()): ApiSessionDetail {
  if (!isRecord(data)) throw bad(url, 'API session is not an object');
  const id = str(data.id);
  const token = str(data.token);
  const identity = isRecord(data.identity) ? data.identity : {};
  const identityId = str(data.identityId) ?? str(identity.id);
  if (!id || !token || !identityId) throw bad(url, 'API session lacks id, token or identity');
  const identityName = str(identity.name) ?? identityId;
  const expirationSeconds = typeof data.expirationSeconds === 'number' ? data.expirationSeconds : 0;
  const expiresRaw = str(data.expiresAt);
  const parsed = expiresRaw ? new Date(expiresRaw) : undefined;
  const expiresAt =
    parsed && !Number.isNaN(parsed.getTime())
      ? parsed
      : new Date(receivedAt.getTime() + Math.max(expirationSeconds, 0) * 1000);
  const authQueries = Array.isArray(data.authQueries) ? (data.authQueries as unknown[]) : [];
  return {
    id,
    token,
    identityId,
    identityName,
    expiresAt,
    expirationSeconds,
    authQueries,
    method: 'legacy',
    authenticatorId: str(data.authenticatorId),
    certExtendRequested: data.isCertExtendRequested === true,
  };
}

function permissions(v: unknown): ZitiPermission[] {
  if (!Array.isArray(v)) return [];
  return v.filter((p): p is ZitiPermission => p === 'Dial' || p === 'Bind');
}

export function toService(data: unknown, url: string): ZitiService {
  if (!isRecord(data)) throw bad(url, 'service is not an object');
  const id = str(data.id);
  const name = str(data.name);
  if (!id || !name) throw bad(url, 'service lacks id or name');
  return {
    id,
    name,
    encryptionRequired: data.encryptionRequired === true,
    permissions: permissions(data.permissions),
    configs: isRecord(data.config) ? { ...data.config } : {},
  };
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export function toEdgeRouter(data: unknown, url: string): EdgeRouterInfo {
  if (!isRecord(data)) throw bad(url, 'edge router is not an object');
  const name = str(data.name);
  if (!name) throw bad(url, 'edge router lacks a name');
  // supportedProtocols is the current field; urls is its deprecated twin on session answers.
  const urls = { ...stringMap(data.urls), ...stringMap(data.supportedProtocols) };
  const router: EdgeRouterInfo = { name, hostname: str(data.hostname) ?? '', urls };
  if (typeof data.isOnline === 'boolean') router.isOnline = data.isOnline;
  return router;
}

export function toSession(data: unknown, url: string): ZitiSession {
  if (!isRecord(data)) throw bad(url, 'session is not an object');
  const id = str(data.id);
  const token = str(data.token);
  const type = data.type === 'Bind' ? 'Bind' : data.type === 'Dial' ? 'Dial' : undefined;
  const service = isRecord(data.service) ? data.service : {};
  const serviceId = str(data.serviceId) ?? str(service.id) ?? '';
  if (!id || !token || !type) throw bad(url, 'session lacks id, token or type');
  const routers = Array.isArray(data.edgeRouters) ? data.edgeRouters : [];
  return { id, token, type, serviceId, edgeRouters: routers.map((r) => toEdgeRouter(r, url)) };
}

export function toVersion(data: unknown, url: string): ControllerVersion {
  if (!isRecord(data)) throw bad(url, 'version is not an object');
  const version = str(data.version);
  if (!version) throw bad(url, 'version lacks "version"');
  return {
    version,
    revision: str(data.revision),
    buildDate: str(data.buildDate),
    runtimeVersion: str(data.runtimeVersion),
    apiVersions: isRecord(data.apiVersions) ? { ...data.apiVersions } : {},
    capabilities: Array.isArray(data.capabilities)
      ? data.capabilities.filter((c): c is string => typeof c === 'string')
      : [],
  };
}
