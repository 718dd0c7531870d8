/** Steering the loop: stop, checkpoint, pause, resume, more iterations, an extra prompt. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { MAX_INPUT_BYTES, boundedString, noParams } from '../schemas.js';

export const controlMethods = {
  stop: defineMethod({
    summary:
      'Ask the loop to stop. The agent gets SIGTERM and, if it is still running after a grace period ' +
      '(5 s), SIGKILL; with `force: true` it gets SIGKILL at once. The loop then ends as `stopped`. To end ' +
      'after the current iteration instead, use `checkpoint` and then `stop`.',
    compat: true,
    access: 'control',
    params: z.strictObject({ force: z.boolean().optional() }),
    result: z.object({ status: z.literal('stop_requested') }),
    example: { params: {}, result: { status: 'stop_requested' } },
    errors: ['LOOP_ENDED'],
  }),
  checkpoint: defineMethod({
    summary: 'Ask the loop to save its state and pause after the current iteration.',
    compat: true,
    access: 'control',
    params: noParams,
    result: z.object({ status: z.literal('checkpoint_requested') }),
    example: { params: {}, result: { status: 'checkpoint_requested' } },
    errors: ['LOOP_ENDED'],
  }),
  inject_prompt: defineMethod({
    summary: `Text put before the next iteration's prompt (1 to ${MAX_INPUT_BYTES} bytes). Calls queue up: the next iteration gets all of them, oldest first.`,
    compat: true,
    access: 'control',
    params: z.strictObject({ prompt: boundedString(MAX_INPUT_BYTES, 1) }),
    result: z.object({ status: z.literal('prompt_injected'), prompt: z.string() }),
    example: {
      params: { prompt: 'Fix the type errors before adding features.' },
      result: { status: 'prompt_injected', prompt: 'Fix the type errors before adding features.' },
    },
    errors: ['LOOP_ENDED'],
  }),
  pause: defineMethod({
    summary:
      "Suspend the agent's process group (SIGSTOP) and the loop's timeouts until `resume`. Pausing a paused " +
      'loop changes nothing.',
    access: 'control',
    params: noParams,
    result: z.object({ status: z.literal('paused') }),
    example: { params: {}, result: { status: 'paused' } },
    errors: ['LOOP_ENDED'],
  }),
  resume: defineMethod({
    summary: 'Continue a paused (or checkpointed) loop. Resuming a running loop changes nothing.',
    access: 'control',
    params: noParams,
    result: z.object({ status: z.literal('running') }),
    example: { params: {}, result: { status: 'running' } },
    errors: ['LOOP_ENDED'],
  }),
  add_iterations: defineMethod({
    summary: 'Raise the iteration limit by `count`; the result is the new limit.',
    access: 'control',
    params: z.strictObject({ count: z.number().int().min(1).max(10000) }),
    result: z.object({ max_iterations: z.number().int().min(0) }),
    example: { params: { count: 10 }, result: { max_iterations: 60 } },
    errors: ['LOOP_ENDED'],
  }),
};
