/**
 * An edge router learns identities, services and service policies from the controller a moment after they are
 * created (its copy of the controller's data model lags behind, more so on a loaded machine). Until then it
 * refuses a dial or bind that needs them with one of the answers below. A request that the controller allowed
 * (it issued the session) therefore waits for the router, within a bound, instead of failing at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BindFailedError, DialFailedError } from './errors.js';

/** v1.7.2's answers: an unknown identity (it spells it "foud"), service, or no policy granting access yet. */
const NOT_SYNCED =
  /identity not fou?n?d by id|service not found by id|unable to get service token either by JWT parsing or id lookup|no policies provide access/i;
const PAUSE_MS = { first: 100, max: 1_000 };

/** The router refused the request because its copy of the controller's data is behind (or the grant is gone). */
export function routerNotSynced(err: unknown): boolean {
  return (err instanceof DialFailedError || err instanceof BindFailedError) && NOT_SYNCED.test(err.message);
}

export interface RouterSyncWait {
  /** How long to keep asking (0: once). */
  waitMs: number;
  /**
   * Runs before each pause and may throw to end the wait: a deleted identity, service or policy gets the same
   * answer from the router as a fresh one, but the controller then refuses the login or the session.
   */
  check?: () => Promise<void>;
  pause?: (ms: number) => Promise<unknown>;
}

/**
 * Runs `request`, again while the router answers that it does not know the identity, service or grant yet,
 * until `waitMs` has passed; then the router's last refusal is thrown.
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
