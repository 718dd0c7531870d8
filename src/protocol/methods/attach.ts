/** Watching the loop: event subscriptions, raw terminal attach with replay, size and rendered screen. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { boundedString, byteOffset, noParams, subscribableEvent, terminalSize } from '../schemas.js';

/** Longest `client` description an `attach` may carry. */
export const MAX_CLIENT_NAME_BYTES = 200;

const eventList = z.strictObject({ events: z.array(subscribableEvent) });
/** How the connection carries messages: NDJSON lines, or binary frames after an `attach` asked for them. */
const framing = z.enum(['ndjson', 'binary']);

export const attachMethods = {
  subscribe: defineMethod({
    summary:
      'Receive `event` notifications of these types on this connection. The result lists all subscribed.',
    compat: true,
    access: 'read',
    params: eventList,
    result: z.object({ subscribed: z.array(z.string()) }),
    example: {
      params: { events: ['output', 'state_change'] },
      result: { subscribed: ['output', 'state_change'] },
    },
  }),
  unsubscribe: defineMethod({
    summary: 'Stop receiving these event types. The result lists what remains subscribed.',
    compat: true,
    access: 'read',
    params: eventList,
    result: z.object({ subscribed: z.array(z.string()) }),
    example: { params: { events: ['output'] }, result: { subscribed: ['state_change'] } },
  }),
  attach: defineMethod({
    summary:
      'Start receiving raw terminal output as `pty` events: first the log from `from_offset` up to ' +
      '`replay_end`, then live output, with no gap and no duplicate. Without `from_offset` the server picks ' +
      'where replay starts (at most the last 1 MiB); the result says where. With `"framing": "binary"` the ' +
      'connection switches to binary frames right after this response, and output comes as terminal frames ' +
      'instead (see Binary frames). `client` says who is attaching, for people (ralph sends ' +
      '`pid <pid> on <terminal>`); the keyboard holder is shown with it, e.g. in LEASE_HELD.',
    access: 'read',
    params: z.strictObject({
      from_offset: byteOffset.optional(),
      framing: framing.optional(),
      client: boundedString(MAX_CLIENT_NAME_BYTES).optional(),
    }),
    result: z.object({
      from_offset: byteOffset,
      replay_end: byteOffset,
      ...terminalSize,
      interactive_mode: z.boolean(),
      framing,
    }),
    example: {
      params: { from_offset: 0 },
      result: {
        from_offset: 0,
        replay_end: 182734,
        cols: 120,
        rows: 40,
        interactive_mode: false,
        framing: 'ndjson',
      },
    },
    errors: ['OFFSET_OUT_OF_RANGE'],
  }),
  detach: defineMethod({
    summary:
      'Stop `pty` events (or terminal frames) on this connection, and release the writer lease if this ' +
      'connection holds it. A connection switched to binary frames stays switched.',
    access: 'read',
    params: noParams,
    result: z.object({ detached: z.literal(true) }),
    example: { params: {}, result: { detached: true } },
  }),
  resize: defineMethod({
    summary: "Set the agent terminal's size. Attached clients see the change as a `state_change`.",
    access: 'control',
    params: z.strictObject(terminalSize),
    result: z.object(terminalSize),
    example: { params: { cols: 132, rows: 43 }, result: { cols: 132, rows: 43 } },
    errors: ['LOOP_ENDED'],
  }),
  peek: defineMethod({
    summary:
      'The rendered screen of the agent terminal as text lines (no attach needed). With `scrollback: n`, ' +
      '`history` holds up to n lines that scrolled off the top, oldest first (the screen keeps 1000).',
    access: 'read',
    params: z.strictObject({ scrollback: z.number().int().min(0).max(1000).optional() }),
    result: z.object({
      ...terminalSize,
      cursor: z.object({ x: z.number().int().min(0), y: z.number().int().min(0) }),
      lines: z.array(z.string()),
      history: z.array(z.string()).optional(),
    }),
    example: {
      params: { scrollback: 2 },
      result: {
        cols: 40,
        rows: 3,
        cursor: { x: 2, y: 2 },
        lines: ['Running tests...', '12 passed', '> '],
        history: ['Reading prd.json', 'Story US-002: add the login form'],
      },
    },
  }),
};
