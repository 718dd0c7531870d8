/**
 * The per-loop methods by name, without their schemas: the access each needs, and quick params checks for
 * the calls every watcher makes. A runner answers with them before (and often without ever) loading the
 * method table, whose zod schemas are most of a runner's code: `restrict_connection`'s guard reads the access
 * here, and `get_status` or `subscribe` with plain params need no schema. Tests hold both equal to the table.
 */
import type { MethodName } from './methods.js';
import type { Access } from './spec.js';

export const METHOD_ACCESS: { readonly [M in MethodName]: Access } = {
  get_status: 'read',
  get_iterations: 'read',
  get_stories: 'read',
  stop: 'control',
  checkpoint: 'control',
  inject_prompt: 'control',
  pause: 'control',
  resume: 'control',
  add_iterations: 'control',
  set_interactive_mode: 'control',
  write_pty: 'control',
  subscribe: 'read',
  unsubscribe: 'read',
  attach: 'read',
  detach: 'read',
  resize: 'control',
  peek: 'read',
  get_logs: 'read',
  get_transcript: 'read',
  restrict_connection: 'read',
};

/** Event types a client can ask for with `subscribe` (`*` means all of them). */
export const SUBSCRIBABLE_EVENTS = ['output', 'state_change', 'iteration', '*'] as const;

/**
 * Params as the table would give them when `params` is certainly valid; undefined when unsure (anything
 * else, invalid or not), for the table to decide and to word the error.
 */
export type QuickParams = (params: unknown) => object | undefined;

function plainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** Params of a method that takes none: absent, null or `{}`. */
const none: QuickParams = (params) =>
  params === undefined || params === null || (plainObject(params) && Object.keys(params).length === 0)
    ? {}
    : undefined;

const SUBSCRIBABLE: ReadonlySet<unknown> = new Set(SUBSCRIBABLE_EVENTS);

/** `{events: [...]}` with known event types only, and no other field. */
const eventList: QuickParams = (params) => {
  if (!plainObject(params)) return undefined;
  const keys = Object.keys(params);
  if (keys.length !== 1 || keys[0] !== 'events') return undefined;
  const { events } = params;
  if (!Array.isArray(events) || !events.every((e) => SUBSCRIBABLE.has(e))) return undefined;
  return { events: [...(events as unknown[])] };
};

export const QUICK_PARAMS: { readonly [M in MethodName]?: QuickParams } = {
  get_status: none,
  get_iterations: none,
  get_stories: none,
  checkpoint: none,
  pause: none,
  resume: none,
  detach: none,
  subscribe: eventList,
  unsubscribe: eventList,
};
