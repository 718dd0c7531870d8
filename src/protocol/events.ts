/**
 * Server-to-client notifications. Every one is a JSON-RPC notification with method `event` and params
 * `{type, timestamp, data}`, as in ralph-uv's protocol.
 */
import { z } from 'zod';
import { byteOffset, iterationRecord, statusChange } from './schemas.js';

export { EVENT_METHOD, makeEvent, ptyEventLine } from './event-method.js';

export interface EventSpec<D extends z.ZodType = z.ZodType> {
  summary: string;
  /** Who receives it: subscribers of its type, attached connections, or the one connection concerned. */
  delivery: 'subscribe' | 'attach' | 'connection';
  data: D;
  example: z.output<D>;
  compat?: boolean;
}

function defineEvent<D extends z.ZodType>(spec: EventSpec<D>): EventSpec<D> {
  return spec;
}

export const events = {
  output: defineEvent({
    summary: 'One complete line of agent output, ANSI escapes removed.',
    delivery: 'subscribe',
    compat: true,
    data: z.object({ line: z.string() }),
    example: { line: 'Implementing the database migration...' },
  }),
  state_change: defineEvent({
    summary: 'Status fields that changed (any subset of `get_status` fields except `recent_output`).',
    delivery: 'subscribe',
    compat: true,
    data: statusChange,
    example: { iteration: 4, current_story: 'US-004' },
  }),
  iteration: defineEvent({
    summary: 'An iteration started or ended; the data is its record as in `get_iterations`.',
    delivery: 'subscribe',
    data: iterationRecord,
    example: {
      number: 4,
      started_at: '2026-01-23T10:15:30.000Z',
      ended_at: null,
      exit_code: null,
      signal: null,
      story_before: 'US-004',
      story_after: null,
      outcome: 'running',
      start_offset: 182734,
      end_offset: null,
    },
  }),
  pty: defineEvent({
    summary:
      'Raw terminal bytes (base64) starting at byte `offset` of the log. Sent only to attached connections, ' +
      'replay first, then live; `subscribe` does not select it. A connection switched to binary frames ' +
      'gets terminal frames instead.',
    delivery: 'attach',
    data: z.object({ offset: byteOffset, data: z.string() }),
    example: { offset: 182734, data: 'G1szMm1vaxtbMG0NCg==' },
  }),
  input_dropped: defineEvent({
    summary:
      'Terminal bytes this connection sent in a binary frame were not forwarded to the agent, and why. Sent ' +
      'for the first frame dropped, then again only after a frame got through or when the reason changes.',
    delivery: 'connection',
    data: z.object({ reason: z.string(), bytes: z.number().int().min(0) }),
    example: { reason: 'not in interactive mode', bytes: 1 },
  }),
  disconnect: defineEvent({
    summary: 'The server is about to close this connection, and why.',
    delivery: 'connection',
    data: z.object({ reason: z.string() }),
    example: { reason: 'loop finished' },
  }),
} satisfies Record<string, EventSpec>;

export type Events = typeof events;
export type EventType = keyof Events;
export type EventDataOf<T extends EventType> = z.output<Events[T]['data']>;

/** The `params` of an `event` notification. */
export interface LoopEvent<T extends EventType = EventType> {
  type: T;
  timestamp: string;
  data: EventDataOf<T>;
}

/** Any event as received by a client, whose type may be one this version does not know. */
export interface WireEvent {
  type: string;
  timestamp: string;
  data: unknown;
}

export const EVENT_TYPES = Object.keys(events) as EventType[];

/** Narrows a received event by its type (the data is trusted, not validated). */
export function isEventOf<T extends EventType>(event: WireEvent, type: T): event is WireEvent & LoopEvent<T> {
  return event.type === type;
}
