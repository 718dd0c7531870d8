/**
 * Who is on one daemon connection: set from the transport when the connection is accepted (a local socket
 * caller is this box's user, with `control`; a Ziti caller the router vouched for gets the role its identity
 * has), or by `authenticate`. Nothing a client writes in a request can change it except a proof.
 */
import { randomBytes } from 'node:crypto';
import type { Peer } from '../transport/stream.js';
import { roleFor, type Role, type RolesConfig } from './roles.js';

export interface Caller {
  transport: 'unix' | 'ziti';
  /** The proven identity (`local:<uid>` on the local socket), or null until `authenticate`. */
  identity: string | null;
  role: Role | null;
  /** True once the daemon knows who this is (always on the local socket). */
  authenticated: boolean;
  /** The nonce `hello` gave, which a proof must sign. */
  nonce: string;
}

export function callerFor(peer: Peer | null, roles: RolesConfig): Caller {
  const nonce = randomBytes(32).toString('base64url');
  if (peer === null || peer.transport === 'unix') {
    const uid = process.getuid?.() ?? 0;
    return { transport: 'unix', identity: `local:${uid}`, role: 'control', authenticated: true, nonce };
  }
  if (peer.attested === true && peer.identity !== undefined) {
    const id = peer.identityId ?? peer.identity;
    const role = roleFor(roles, { id, name: peer.identity });
    return { transport: 'ziti', identity: id, role, authenticated: role !== null, nonce };
  }
  return { transport: 'ziti', identity: null, role: null, authenticated: false, nonce };
}
