/** The range a loop's timeouts may take: 0 for no limit, else from 1 second to 365 days. */
import { ExitCode, RalphError } from '../errors.js';

export const MIN_TIMEOUT_MS = 1000;
export const MAX_TIMEOUT_MS = 365 * 86_400_000;

function describeMs(ms: number): string {
  if (ms >= 86_400_000) return `${+(ms / 86_400_000).toFixed(3)} days`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)} s`;
  return `${+ms.toFixed(6)} ms`;
}

/**
 * Checks a timeout in milliseconds (fractions allowed, as a duration was written) and returns it rounded to
 * whole milliseconds. `name` names the setting in the error (`--idle-timeout`, `idleTimeoutMs`).
 */
export function checkTimeout(ms: number, name: string): number {
  if (ms === 0) return 0;
  if (!Number.isFinite(ms) || ms < MIN_TIMEOUT_MS || ms > MAX_TIMEOUT_MS) {
    throw new RalphError(
      'INVALID_DURATION',
      `${name} must be 0 (no limit) or from 1s to 365d, got ${Number.isFinite(ms) ? describeMs(ms) : String(ms)}`,
      { exitCode: ExitCode.usage, hint: 'write it as 90s, 15m, 1h30m or 7d; 0 means no limit' },
    );
  }
  return Math.round(ms);
}
