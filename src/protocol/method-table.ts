/**
 * The per-loop method table, loaded when a connection first sends a call that needs it (see method-index.ts).
 * The table is built with zod, most of a runner's code by size; a runner nobody sends such a call (most of a
 * busy box's loops, most of the time) never loads it.
 */
import type { Methods } from './methods.js';

let pending: Promise<Methods> | undefined;

export function loadMethodTable(): Promise<Methods> {
  pending ??= import('./methods.js').then(
    (module) => module.methods,
    (err: unknown) => {
      pending = undefined;
      throw err;
    },
  );
  return pending;
}
