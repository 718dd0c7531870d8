/** Typing into the agent's terminal: the writer lease and keystrokes. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { MAX_INPUT_BYTES, boundedString } from '../schemas.js';

export const interactiveMethods = {
  set_interactive_mode: defineMethod({
    summary:
      'Turn interactive mode on or off. On: completion detection is suspended and this connection takes the ' +
      'writer lease (LEASE_HELD if another connection has it). Off: the lease is released.',
    compat: true,
    access: 'control',
    params: z.strictObject({ enabled: z.boolean() }),
    result: z.object({ interactive_mode: z.boolean() }),
    example: { params: { enabled: true }, result: { interactive_mode: true } },
    errors: ['LEASE_HELD', 'LOOP_ENDED'],
  }),
  write_pty: defineMethod({
    summary:
      `Send keystrokes (UTF-8 text, at most ${MAX_INPUT_BYTES} bytes) to the agent's terminal. Forwarded ` +
      'only from the lease holder while interactive mode is on; otherwise answered `ignored` with the reason.',
    compat: true,
    access: 'control',
    params: z.strictObject({ data: boundedString(MAX_INPUT_BYTES) }),
    result: z.union([
      z.object({ status: z.literal('forwarded') }),
      z.object({ status: z.literal('ignored'), reason: z.string() }),
    ]),
    example: { params: { data: 'y\r' }, result: { status: 'forwarded' } },
    errors: ['LOOP_ENDED'],
  }),
};
