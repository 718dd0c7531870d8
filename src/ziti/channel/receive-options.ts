/**
 * The per-connection receive options of a channel (see docs/ziti.md, "Flow control"): the hard bound of
 * unread bytes, and the hold rule that gives a connection whose reader is reading, only slower than its
 * sender, real backpressure for a bounded time.
 */
import { InvalidChannelOptionError } from './errors.js';

/** Default bound of unread bytes per edge connection: 16 MiB. */
export const DEFAULT_CONN_RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;

/** When a connection may pause its channel's reading (a hold); every field has a default. */
export interface ReceiveHoldOptions {
  /** Unread bytes above which a reading connection holds the channel; released below half (default 1 MiB). */
  bytes?: number;
  /** A reader that took nothing for this long counts as stopped and never holds (default 1000 ms). */
  activityMs?: number;
  /** Longest one hold lasts; after that the connection holds again only once drained (default 2000 ms, 0 = never hold). */
  maxMs?: number;
}

export type ReceiveHoldPolicy = Required<ReceiveHoldOptions>;

export const DEFAULT_RECEIVE_HOLD: ReceiveHoldPolicy = {
  bytes: 1024 * 1024,
  activityMs: 1_000,
  maxMs: 2_000,
};

/** The per-connection receive bound to use: the default when unset; a bad value is refused. */
export function checkConnReceiveBufferBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_CONN_RECEIVE_BUFFER_BYTES;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidChannelOptionError('connReceiveBufferBytes', value, 'a positive whole number of bytes');
  }
  return value;
}

/** The hold rule to use: defaults for what is unset; a bad value is refused. */
export function checkReceiveHold(options: ReceiveHoldOptions | undefined): ReceiveHoldPolicy {
  const policy = { ...DEFAULT_RECEIVE_HOLD };
  for (const key of ['bytes', 'activityMs', 'maxMs'] as const) {
    const value = options?.[key];
    if (value === undefined) continue;
    const least = key === 'maxMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      const what = key === 'bytes' ? 'a positive whole number of bytes' : 'a whole number of milliseconds';
      throw new InvalidChannelOptionError(
        `connReceiveHold.${key}`,
        value,
        least === 0 ? `${what} (0 or more)` : `${what} (1 or more)`,
      );
    }
    policy[key] = value;
  }
  return policy;
}
