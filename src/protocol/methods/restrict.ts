/** Narrowing what a connection may do, for a daemon handing a runner connection to an `observe` caller. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';

export const restrictMethods = {
  restrict_connection: defineMethod({
    summary:
      'From now on this connection may call `read` methods only: every `control` method answers FORBIDDEN ' +
      'and keystrokes in terminal frames are dropped. It cannot be lifted; the connection keeps the restriction ' +
      'until it closes. A writer lease the connection held is released. The daemon sends it before it hands a ' +
      'runner connection over to an `observe` caller.',
    access: 'read',
    params: z.strictObject({ role: z.literal('observe') }),
    result: z.object({ role: z.literal('observe') }),
    example: { params: { role: 'observe' }, result: { role: 'observe' } },
  }),
};
