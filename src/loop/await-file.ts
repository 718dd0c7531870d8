/**
 * A runner in a pod starts before its loop's files are there: the daemon sends them through the API server
 * once the pod runs, and writes a marker file last. `RALPH_AWAIT_FILE` names that marker; the runner waits for
 * it (up to `RALPH_AWAIT_TIMEOUT_MS`, default 10 minutes) before it reads anything of the loop.
 *
 * At the end it is the other way round: the pod must still run while the daemon takes the loop's commits home,
 * so a runner given `RALPH_HOLD_FILE` waits, after its loop has ended, for the daemon to write that file (up to
 * `RALPH_HOLD_TIMEOUT_MS`, default 10 minutes) before it exits.
 */
import { existsSync } from 'node:fs';

export const DEFAULT_AWAIT_TIMEOUT_MS = 10 * 60_000;

/** Resolves true once `file` exists, false when `timeoutMs` passes first. */
export async function awaitFile(file: string, timeoutMs: number, pollMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(file)) return true;
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The wait a runner's environment asks for (`RALPH_<kind>_FILE`), or null for none. */
export function awaitSettings(
  env: NodeJS.ProcessEnv,
  kind: 'AWAIT' | 'HOLD' = 'AWAIT',
): { file: string; timeoutMs: number } | null {
  const file = env[`RALPH_${kind}_FILE`];
  if (file === undefined || file === '') return null;
  const raw = Number(env[`RALPH_${kind}_TIMEOUT_MS`]);
  const timeoutMs = Number.isSafeInteger(raw) && raw > 0 ? raw : DEFAULT_AWAIT_TIMEOUT_MS;
  return { file, timeoutMs };
}
