/**
 * Who may do what. The daemon's config maps identities to roles; a method's `access` (from its MethodSpec)
 * says which roles may call it. `observe` may call `read` methods only; `control` may call everything. An
 * identity with no role is refused (zero trust: nobody is in by default).
 */
import { z } from 'zod';
import { accessOf, type AccessSpec } from '../protocol/access.js';
import { methods } from '../protocol/methods.js';

export { accessOf, type AccessSpec };

export const ROLES = ['observe', 'control'] as const;
export type Role = (typeof ROLES)[number];

/** Longest identity id or name a roles entry may name (controller names are far shorter). */
export const MAX_IDENTITY_KEY = 256;

/** The `roles` section of the daemon's config: identity id (the certificate's CN) or name → role. */
export const rolesSchema = z.record(
  z.string().min(1).max(MAX_IDENTITY_KEY),
  z.enum(ROLES, { error: () => 'a role is "observe" or "control"' }),
);
export type RolesConfig = z.infer<typeof rolesSchema>;

/** Who called, as far as the daemon knows: the identity id always, its name when the router told it. */
export interface CallerIdentity {
  id: string;
  name?: string | null;
}

/**
 * The role of a caller. The identity id wins over the name when both are listed with different roles: ids
 * never change, names can be renamed on the controller. Null when neither is listed.
 */
export function roleFor(roles: RolesConfig, identity: CallerIdentity | string): Role | null {
  const caller = typeof identity === 'string' ? { id: identity } : identity;
  if (Object.hasOwn(roles, caller.id)) return roles[caller.id] ?? null;
  if (caller.name && Object.hasOwn(roles, caller.name)) return roles[caller.name] ?? null;
  return null;
}

/**
 * True when `role` may call `method` (a name looked up in `table`, by default the per-loop method table, or a
 * spec). Fails closed: a method without `access` counts as `control`.
 */
export function allows(
  role: Role | null,
  method: string | AccessSpec,
  table: Record<string, AccessSpec> = methods,
): boolean {
  if (role === 'control') return true;
  if (role === 'observe') return accessOf(method, table) === 'read';
  return false;
}
