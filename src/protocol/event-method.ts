/**
 * Events on the wire: the notification method every server-to-client event uses, and building an event's
 * params. Kept apart from the event table (events.ts, which builds its schemas with zod) so that a runner
 * that sends events, and a client that only sends requests and reads them, never load a schema library.
 */
import type { EventDataOf, EventType, LoopEvent } from './events.js';
import { isoTime } from '../util/clock.js';

export const EVENT_METHOD = 'event';

export function makeEvent<T extends EventType>(type: T, data: EventDataOf<T>): LoopEvent<T> {
  return { type, timestamp: isoNow(), data };
}

let stampMs = 0;
let stamp = '';
/** The current time as an ISO string; events come in bursts, so the string is reused within a millisecond. */
function isoNow(): string {
  const now = Date.now();
  if (now !== stampMs) {
    stampMs = now;
    stamp = isoTime(now);
  }
  return stamp;
}

/**
 * The NDJSON line of a `pty` event, built directly: it is sent for every chunk of terminal output, and base64
 * and a number need no JSON escaping. Equal to `encodeLine` of the notification `makeEvent` would give.
 */
export function ptyEventLine(offset: number, base64: string): string {
  return `{"jsonrpc":"2.0","method":"${EVENT_METHOD}","params":{"type":"pty","timestamp":"${isoNow()}","data":{"offset":${offset},"data":"${base64}"}}}\n`;
}
