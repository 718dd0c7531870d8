/** Read-only state: the status snapshot and the iteration history. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { iterationRecord, noParams, statusSnapshot, storySummary } from '../schemas.js';

const startedAt = '2026-01-23T10:00:00.000Z';

export const statusMethods = {
  get_status: defineMethod({
    summary:
      'The loop as it is now. The fields up to `recent_output` are those of ralph-uv (with `current_story` ' +
      'null instead of empty); the rest are extensions.',
    compat: true,
    access: 'read',
    params: noParams,
    result: statusSnapshot,
    example: {
      params: {},
      result: {
        task_name: 'my-feature',
        task_dir: '/home/me/project/tasks/my-feature',
        iteration: 3,
        max_iterations: 50,
        current_story: 'US-003',
        agent: 'claude',
        status: 'running',
        interactive_mode: false,
        mode_indicator: 'autonomous',
        started_at: startedAt,
        updated_at: '2026-01-23T10:15:30.000Z',
        recent_output: ['Running tests...', '12 passed'],
        pid: 41872,
        paused: false,
        log_end_offset: 182734,
        cols: 120,
        rows: 40,
        writer: null,
        stories_total: 8,
        stories_passing: 2,
        exit_reason: null,
      },
    },
  }),
  get_iterations: defineMethod({
    summary:
      'Every iteration so far, oldest first, with where its output lies in the log and, for agents run in ' +
      'their machine-readable mode, the tokens and cost they reported (kept current while one runs).',
    access: 'read',
    params: noParams,
    result: z.object({ iterations: z.array(iterationRecord) }),
    example: {
      params: {},
      result: {
        iterations: [
          {
            number: 1,
            started_at: startedAt,
            ended_at: '2026-01-23T10:06:12.000Z',
            exit_code: 0,
            signal: null,
            story_before: 'US-001',
            story_after: 'US-002',
            outcome: 'story_passed',
            start_offset: 0,
            end_offset: 65210,
            stream: 'claude',
            usage: {
              input_tokens: 48211,
              output_tokens: 2304,
              cached_input_tokens: 40112,
              cache_write_tokens: 6120,
              cost_usd: 0.1873,
              model: 'claude-sonnet-4-5',
            },
          },
          {
            number: 2,
            started_at: '2026-01-23T10:06:13.000Z',
            ended_at: null,
            exit_code: null,
            signal: null,
            story_before: 'US-002',
            story_after: null,
            outcome: 'running',
            start_offset: 65210,
            end_offset: null,
            stream: 'claude',
            usage: null,
          },
        ],
      },
    },
  }),
  get_stories: defineMethod({
    summary:
      "The stories of the task's prd.json as it is on disk now, in file order, with the story the loop " +
      'would work on next (`current`, null when every story passes).',
    access: 'read',
    params: noParams,
    result: z.object({ stories: z.array(storySummary), current: z.string().nullable() }),
    example: {
      params: {},
      result: {
        stories: [
          { id: 'US-001', title: 'Add the users table', priority: 1, passes: true, depends_on: [] },
          { id: 'US-002', title: 'Sign-up form', priority: 2, passes: false, depends_on: ['US-001'] },
        ],
        current: 'US-002',
      },
    },
    errors: ['INVALID_TASK'],
  }),
};
