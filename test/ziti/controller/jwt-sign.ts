/** Signs a JWT the way a controller does: ES256 signatures are raw r||s (JWS), RS256 PKCS#1 v1.5. */
import { sign, type KeyObject } from 'node:crypto';

export function signJwt(claims: Record<string, unknown>, key: KeyObject, alg = 'ES256'): string {
  const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = Buffer.from(`${header}.${payload}`);
  const signature = alg.startsWith('ES')
    ? sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })
    : sign('sha256', input, key);
  return `${header}.${payload}.${signature.toString('base64url')}`;
}
