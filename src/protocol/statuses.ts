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
  'completed',
  'exhausted',
  'failed',
  'stopped',
] as const;
