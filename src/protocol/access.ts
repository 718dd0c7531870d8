/** The access a method needs, read from a method table. Fails closed: unknown or unmarked means `control`. */
import { METHOD_ACCESS } from './method-index.js';
import type { Access } from './spec.js';

/** Something with an `access`, as every entry of a method table has. */
export type AccessSpec = { access?: Access };

/**
 * The access `method` (a spec, or a name looked up in `table`; by default the per-loop methods, from the
 * index that holds no schemas) needs.
 */
export function accessOf(method: string | AccessSpec, table: Record<string, AccessSpec> = PER_LOOP): Access {
  const spec =
    typeof method === 'string' ? (Object.hasOwn(table, method) ? table[method] : undefined) : method;
  return spec?.access ?? 'control';
}

const PER_LOOP: Record<string, AccessSpec> = Object.fromEntries(
  Object.entries(METHOD_ACCESS).map(([name, access]) => [name, { access }]),
);
