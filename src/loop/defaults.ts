/** Loop settings used when the starter gives none. Kept apart so the CLI can read them cheaply. */
export const LOOP_DEFAULTS = {
  maxIterations: 10,
  iterationTimeoutMs: 60 * 60_000,
  idleTimeoutMs: 15 * 60_000,
  maxConsecutiveFailures: 3,
  trustPromise: false,
  stopGraceMs: 5_000,
  cols: 120,
  rows: 40,
} as const;
