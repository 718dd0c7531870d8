/** An iteration's transcript, parsed from the agent's structured output. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { transcriptEntry } from '../usage-schema.js';

export const transcriptMethods = {
  get_transcript: defineMethod({
    summary:
      "One iteration's transcript: the agent's messages, tool calls and results, as parsed from its " +
      'machine-readable output (kept in the session folder as `transcript-<n>.ndjson`). `format` names the ' +
      'stream format (`claude`, `codex`); an iteration run in plain text has `format: null` and no entries.',
    access: 'read',
    params: z.strictObject({ iteration: z.number().int().min(1) }),
    result: z.object({
      iteration: z.number().int().min(1),
      format: z.string().nullable(),
      entries: z.array(transcriptEntry),
    }),
    example: {
      params: { iteration: 1 },
      result: {
        iteration: 1,
        format: 'claude',
        entries: [
          { kind: 'system', text: 'session started · claude-sonnet-4-5' },
          { kind: 'message', role: 'assistant', text: 'Running the tests first.' },
          { kind: 'tool_call', id: 'toolu_01', name: 'Bash', input: '{"command":"npm test"}' },
          { kind: 'tool_result', id: 'toolu_01', output: 'Tests  12 passed (12)', is_error: false },
          {
            kind: 'result',
            text: 'All tests pass.',
            is_error: false,
            usage: {
              input_tokens: 23279,
              output_tokens: 112,
              cached_input_tokens: 11530,
              cache_write_tokens: 11740,
              cost_usd: 0.02,
              model: 'claude-sonnet-4-5',
            },
          },
        ],
      },
    },
    errors: ['NO_SUCH_ITERATION'],
  }),
};
