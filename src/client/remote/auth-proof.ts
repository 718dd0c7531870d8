/**
 * The proof a client gives a daemon that does not learn its caller from the router: its certificate chain and a
 * signature, with its identity's key, over the daemon's service name and the nonce of this connection's hello.
 */
import { sign } from 'node:crypto';
import type { ZitiIdentity } from '../../ziti/identity.js';

export const AUTH_DOMAIN = 'ralph-daemon-auth/1';

export interface AuthProof {
  certificate: string;
  signature: string;
}

export function proveIdentity(
  identity: Pick<ZitiIdentity, 'cert' | 'key'>,
  service: string,
  nonce: string,
): AuthProof {
  const message = Buffer.from(`${AUTH_DOMAIN}\n${service}\n${nonce}`);
  return { certificate: identity.cert, signature: sign('sha256', message, identity.key).toString('base64') };
}
