/**
 * Controller API sessions kept between runs of the CLI, one file per identity, so that a short command such as
 * `ralph status` dials at once instead of logging in to the controller first. A cached session token is a
 * credential: the files live in a private directory (0700, checked like a socket directory), are written 0600
 * through a rename, and their contents are never logged. A session found expired, unreadable or for another
 * identity is ignored; one the controller has dropped is replaced by the SDK's own login on its first refusal.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../../config/private-dir.js';
import type { ApiSessionDetail } from '../../ziti/controller/types.js';
import type { ZitiIdentity } from '../../ziti/identity.js';

interface CachedSession {
  /** Whom it was issued to: the identity file, its controller and its certificate's name. */
  key: string;
  id: string;
  token: string;
  identityId: string;
  identityName: string;
  method: ApiSessionDetail['method'];
  expiresAt: string;
  expirationSeconds: number;
}

function keyOf(identity: ZitiIdentity): string {
  return createHash('sha256')
    .update(`${identity.file}\n${identity.ztAPI.href}\n${identity.name}\n${identity.cert}`)
    .digest('hex');
}

function fileOf(dir: string, identity: ZitiIdentity): string {
  return join(dir, `${keyOf(identity).slice(0, 32)}.json`);
}

/** The session cached for `identity`, or undefined (none, unreadable, or not this identity's). */
export function readCachedSession(dir: string, identity: ZitiIdentity): ApiSessionDetail | undefined {
  let cached: Partial<CachedSession>;
  try {
    cached = JSON.parse(readFileSync(fileOf(dir, identity), 'utf8')) as Partial<CachedSession>;
  } catch {
    return undefined;
  }
  const expiresAt = new Date(cached.expiresAt ?? '');
  const method = cached.method;
  if (
    cached.key !== keyOf(identity) ||
    typeof cached.id !== 'string' ||
    typeof cached.token !== 'string' ||
    (method !== 'oidc' && method !== 'legacy') ||
    Number.isNaN(expiresAt.getTime())
  ) {
    return undefined;
  }
  return {
    id: cached.id,
    token: cached.token,
    identityId: cached.identityId ?? '',
    identityName: cached.identityName ?? '',
    method,
    expiresAt,
    expirationSeconds: cached.expirationSeconds ?? 0,
    authQueries: [],
  };
}

/** Keeps `session` for the next run (or forgets the cached one when `session` is undefined). */
export function writeCachedSession(
  dir: string,
  identity: ZitiIdentity,
  session: ApiSessionDetail | undefined,
): void {
  const file = fileOf(ensurePrivateDir(dir), identity);
  if (session === undefined || session.authQueries.length > 0) {
    rmSync(file, { force: true });
    return;
  }
  const cached: CachedSession = {
    key: keyOf(identity),
    id: session.id,
    token: session.token,
    identityId: session.identityId,
    identityName: session.identityName,
    method: session.method,
    expiresAt: session.expiresAt.toISOString(),
    expirationSeconds: session.expirationSeconds,
  };
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(cached), { mode: 0o600 });
  renameSync(temp, file);
}
