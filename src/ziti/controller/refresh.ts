/** When to refresh an API session: some time between 1/2 and 5/6 of its remaining life, never in a tight loop. */

export const MIN_REFRESH_MS = 1_000;
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const RETRY_BASE_MS = 2_000;
export const RETRY_MAX_MS = 60_000;

/**
 * Delay before the next refresh. `expirationSeconds` (the lifetime the controller granted) is preferred over
 * `expiresAt` because it is immune to clock skew between this host and the controller.
 */
export function refreshDelayMs(
  expirationSeconds: number,
  expiresAt: Date,
  now: Date = new Date(),
  random: () => number = Math.random,
): number {
  const lifeMs = expirationSeconds > 0 ? expirationSeconds * 1000 : expiresAt.getTime() - now.getTime();
  const delay = lifeMs * (0.5 + random() / 3);
  return Math.min(Math.max(Math.floor(delay), MIN_REFRESH_MS), MAX_TIMER_MS);
}

/** Delay before retrying a failed refresh: doubling from RETRY_BASE_MS, capped at RETRY_MAX_MS. */
export function retryDelayMs(failures: number): number {
  const exp = Math.min(Math.max(failures - 1, 0), 10);
  return Math.min(RETRY_BASE_MS * 2 ** exp, RETRY_MAX_MS);
}
