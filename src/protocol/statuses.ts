/**
 * The statuses a loop reports, in one place. Kept free of schema code so the registry, which adds the
 * statuses only reconciliation gives, can import it without loading the protocol's validators.
 */
export const LOOP_STATUSES = [
  'starting',
  'running',
  'paused',
  'interactive',
  'stopping',
  /** Live: holding the next iteration until an agent's rate or usage limit resets. */
  'waiting',
  'completed',
  'exhausted',
  'failed',
  'stopped',
  /** Ended: several iterations in a row changed nothing in the task (prd.json, progress.txt, git). */
  'stalled',
  /** Ended: a budget of the loop (`--max-cost`, `--max-tokens`, `--max-duration`) ran out. */
  'budget_exceeded',
] as const;
