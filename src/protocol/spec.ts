/** The shape of one entry in the method table. */
import type { z } from 'zod';
import type { ErrorName } from './errors.js';

/**
 * What calling a method amounts to: `read` only looks (status, logs, output, the screen), `control` changes the
 * loop or types into it. An `observe` caller may use `read` methods only (see src/daemon/roles.ts).
 */
export type Access = 'read' | 'control';

export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  /** One or two sentences for the docs. */
  summary: string;
  /** Validator for `params`; a missing or null `params` is validated as `{}`. */
  params: P;
  /** Validator for `result`. */
  result: R;
  /** A realistic request and response, rendered into the docs and checked by the tests. */
  example: { params: z.input<P>; result: z.output<R> };
  /** Application errors this method may answer with, besides the standard ones. */
  errors?: readonly ErrorName[];
  /**
   * Whether the method only reads or also controls. Every per-loop method sets it (a test walks the table); a
   * method without it is treated as `control`.
   */
  access?: Access;
  /** Defined by ralph-uv's protocol (as opposed to one of our extensions). */
  compat?: boolean;
}

/** Identity function that checks an entry's example against its own schemas at compile time. */
export function defineMethod<P extends z.ZodType, R extends z.ZodType>(
  spec: MethodSpec<P, R>,
): MethodSpec<P, R> {
  return spec;
}
