/** Schemas shared by several methods and events. Field names are snake_case on the wire. */
import { z } from 'zod';
import { MAX_INPUT_BYTES } from './limits.js';

export { MAX_INPUT_BYTES };

/** A string at most `maxBytes` long in UTF-8 (the character limit shows in the JSON Schema too). */
export function boundedString(maxBytes: number, minLength = 0): z.ZodString {
  return z
    .string()
    .min(minLength)
    .max(maxBytes)
    .refine((s) => Buffer.byteLength(s, 'utf8') <= maxBytes, {
      message: `must be at most ${maxBytes} bytes in UTF-8`,
    });
}

export const isoTimestamp = z.iso.datetime({ offset: true });

/** A byte offset into the loop's append-only output log. */
export const byteOffset = z.number().int().min(0);

import { SUBSCRIBABLE_EVENTS } from './method-index.js';
import { LOOP_STATUSES } from './statuses.js';
import { usageSchema } from './usage-schema.js';

export { LOOP_STATUSES };
export const loopStatus = z.enum(LOOP_STATUSES);
export type LoopStatus = z.infer<typeof loopStatus>;

export { SUBSCRIBABLE_EVENTS };
export const subscribableEvent = z.enum(SUBSCRIBABLE_EVENTS);
export type SubscribableEvent = z.infer<typeof subscribableEvent>;

export const statusSnapshot = z.object({
  task_name: z.string(),
  task_dir: z.string(),
  iteration: z.number().int().min(0),
  max_iterations: z.number().int().min(0),
  current_story: z.string().nullable(),
  agent: z.string(),
  status: loopStatus,
  interactive_mode: z.boolean(),
  /** ralph-uv's display hint, derived from `interactive_mode`. */
  mode_indicator: z.enum(['interactive', 'autonomous']),
  started_at: isoTimestamp,
  updated_at: isoTimestamp,
  recent_output: z.array(z.string()),
  pid: z.number().int(),
  paused: z.boolean(),
  log_end_offset: byteOffset,
  cols: z.number().int().min(1),
  rows: z.number().int().min(1),
  writer: z.string().nullable(),
  stories_total: z.number().int().min(0),
  stories_passing: z.number().int().min(0),
  exit_reason: z.string().nullable(),
  /** While `waiting` on a rate limit: when the limit is expected to reset; null otherwise. */
  waiting_until: isoTimestamp.nullable().optional(),
});
export type StatusSnapshot = z.infer<typeof statusSnapshot>;

/** Fields of the status that changed; `recent_output` never travels here (see the `output` event). */
export const statusChange = statusSnapshot.omit({ recent_output: true }).partial();
export type StatusChange = z.infer<typeof statusChange>;

export const iterationRecord = z.object({
  number: z.number().int().min(1),
  started_at: isoTimestamp,
  ended_at: isoTimestamp.nullable(),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  story_before: z.string().nullable(),
  story_after: z.string().nullable(),
  /**
   * `running` while in progress, then how it ended: `progress`, `no_progress`, `completed`, `error`,
   * `rate_limited`, `verify_failed`, `timeout`, `idle_timeout`, `stopped` or `crashed`.
   */
  outcome: z.string(),
  start_offset: byteOffset,
  end_offset: byteOffset.nullable(),
  /** The agent stream format the iteration ran with (`claude`, `codex`), null in plain text mode. */
  stream: z.string().nullable().optional(),
  /** Tokens and cost the agent reported, kept current while the iteration runs; null when none. */
  usage: usageSchema.nullable().optional(),
});
export type IterationRecord = z.infer<typeof iterationRecord>;

/** Params of a method that takes none: `{}`, or params left out. */
export const noParams = z.strictObject({});

export const terminalSize = {
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
};

/** One story of prd.json as `get_stories` lists it. */
export const storySummary = z.object({
  id: z.string(),
  title: z.string(),
  priority: z.number(),
  passes: z.boolean(),
  depends_on: z.array(z.string()),
});
export type StorySummary = z.infer<typeof storySummary>;
