/**
 * The notification method every server-to-client event uses. Kept apart from the event table (events.ts, which
 * builds its schemas with zod) so that a client that only sends requests and reads events never loads a schema
 * library.
 */
export const EVENT_METHOD = 'event';
