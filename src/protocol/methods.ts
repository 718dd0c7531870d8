/** The one table of per-loop methods, combined from the method groups, and the types derived from it. */
import type { z } from 'zod';
import { attachMethods } from './methods/attach.js';
import { controlMethods } from './methods/control.js';
import { interactiveMethods } from './methods/interactive.js';
import { logMethods } from './methods/logs.js';
import { restrictMethods } from './methods/restrict.js';
import { statusMethods } from './methods/status.js';
import { transcriptMethods } from './methods/transcript.js';
import type { MethodSpec } from './spec.js';

export const methods = {
  ...statusMethods,
  ...controlMethods,
  ...interactiveMethods,
  ...attachMethods,
  ...logMethods,
  ...transcriptMethods,
  ...restrictMethods,
} satisfies Record<string, MethodSpec>;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
/** Params as a handler receives them: validated, defaults filled in. */
export type ParamsOf<M extends MethodName> = z.output<Methods[M]['params']>;
/** Params as a client may send them: optional fields with defaults may be left out. */
export type ParamsInputOf<M extends MethodName> = z.input<Methods[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<Methods[M]['result']>;

export const METHOD_NAMES = Object.keys(methods) as MethodName[];

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}
