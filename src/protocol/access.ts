/** The access a method needs, read from a method table. Fails closed: unknown or unmarked means `control`. */
import { methods } from './methods.js';
import type { Access } from './spec.js';

/** Something with an `access`, as every entry of a method table has. */
export type AccessSpec = { access?: Access };

/** The access `method` (a name looked up in `table`, by default the per-loop table, or a spec) needs. */
export function accessOf(method: string | AccessSpec, table: Record<string, AccessSpec> = methods): Access {
  const spec =
    typeof method === 'string' ? (Object.hasOwn(table, method) ? table[method] : undefined) : method;
  return spec?.access ?? 'control';
}
