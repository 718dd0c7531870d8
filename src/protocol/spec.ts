/** The shape of one entry in the method table. */
import type { z } from 'zod';
import type { ErrorName } from './errors.js';

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
  /** Defined by ralph-uv's protocol (as opposed to one of our extensions). */
  compat?: boolean;
}

/** Identity function that checks an entry's example against its own schemas at compile time. */
export function defineMethod<P extends z.ZodType, R extends z.ZodType>(
  spec: MethodSpec<P, R>,
): MethodSpec<P, R> {
  return spec;
}
