/** Steering the loop: stop, checkpoint, pause, resume, more iterations, an extra prompt. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { MAX_INPUT_BYTES, boundedString, noParams } from '../schemas.js';

export const controlMethods = {
  stop: defineMethod({
    summary:
      'Ask the loop to stop. Without `force` the current iteration is allowed to finish; with `force: true` ' +
      'the agent is signalled at once.',
    compat: true,
    params: z.strictObject({ force: z.boolean().optional() }),
    result: z.object({ status: z.literal('stop_requested') }),
    example: { params: {}, result: { status: 'stop_requested' } },
    errors: ['LOOP_ENDED'],
  }),
  checkpoint: defineMethod({
    summary: 'Ask the loop to save its state and pause after the current iteration.',
    compat: true,
    params: noParams,
    result: z.object({ status: z.literal('checkpoint_requested') }),
    example: { params: {}, result: { status: 'checkpoint_requested' } },
    errors: ['LOOP_ENDED'],
  }),
  inject_prompt: defineMethod({
    summary: `Text put before the next iteration's prompt (1 to ${MAX_INPUT_BYTES} bytes). A later call replaces it.`,
    compat: true,
    params: z.strictObject({ prompt: boundedString(MAX_INPUT_BYTES, 1) }),
    result: z.object({ status: z.literal('prompt_injected'), prompt: z.string() }),
    example: {
      params: { prompt: 'Fix the type errors before adding features.' },
      result: { status: 'prompt_injected', prompt: 'Fix the type errors before adding features.' },
    },
    errors: ['LOOP_ENDED'],
  }),
  pause: defineMethod({
    summary: 'Suspend the agent process until `resume`.',
    params: noParams,
    result: z.object({ status: z.literal('paused') }),
    example: { params: {}, result: { status: 'paused' } },
    errors: ['INVALID_STATE', 'LOOP_ENDED'],
  }),
  resume: defineMethod({
    summary: 'Continue a paused loop.',
    params: noParams,
    result: z.object({ status: z.literal('running') }),
    example: { params: {}, result: { status: 'running' } },
    errors: ['INVALID_STATE', 'LOOP_ENDED'],
  }),
  add_iterations: defineMethod({
    summary: 'Raise the iteration limit by `count`; the result is the new limit.',
    params: z.strictObject({ count: z.number().int().min(1).max(10000) }),
    result: z.object({ max_iterations: z.number().int().min(0) }),
    example: { params: { count: 10 }, result: { max_iterations: 60 } },
    errors: ['LOOP_ENDED'],
  }),
};
