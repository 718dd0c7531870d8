/**
 * An edge router learns identities from the controller a moment after they are created or enrolled. Until then
 * it refuses a dial or bind from that identity with "identity not found by id" (v1.7.2 spells it "foud"). A
 * fresh identity's first request therefore waits for the router, within a bound, instead of failing at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BindFailedError, DialFailedError } from './errors.js';

const NOT_SYNCED = /identity not fou?n?d by id/i;
const PAUSE_MS = { first: 100, max: 1_000 };

/** The router refused the request because it does not know the calling identity (yet). */
export function routerNotSynced(err: unknown): boolean {
  return (err instanceof DialFailedError || err instanceof BindFailedError) && NOT_SYNCED.test(err.message);
}

export interface RouterSyncWait {
  /** How long to keep asking (0: once). */
  waitMs: number;
  /**
   * Runs before each pause and may throw to end the wait: a deleted identity gets the same answer from the
   * router as a fresh one, but its controller login fails.
   */
  check?: () => Promise<void>;
  pause?: (ms: number) => Promise<unknown>;
}

/**
 * Runs `request`, again while the router answers that it does not know the identity, until `waitMs` has
 * passed; then the router's last refusal is thrown.
 */
export async function untilRouterKnowsUs<T>(request: () => Promise<T>, wait: RouterSyncWait): Promise<T> {
  const deadline = Date.now() + wait.waitMs;
  const pause = wait.pause ?? sleep;
  let pauseMs = PAUSE_MS.first;
  for (;;) {
    try {
      return await request();
    } catch (err) {
      if (!routerNotSynced(err) || Date.now() + pauseMs > deadline) throw err;
      await wait.check?.();
      await pause(pauseMs);
      pauseMs = Math.min(pauseMs * 2, PAUSE_MS.max);
    }
  }
}
