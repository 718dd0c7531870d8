/**
 * A detached runner that fails before its loop starts (its socket path taken, say) leaves the error in its
 * session folder, so `ralph start` can report it as its own: the same one line, hint and exit code.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RalphError } from '../errors.js';

const FILE = 'start-error.json';

interface Stored {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export function writeStartFailure(dir: string, err: RalphError): void {
  const stored: Stored = { code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode };
  writeFileSync(join(dir, FILE), JSON.stringify(stored), { mode: 0o600 });
}

/** The error a runner left in `dir`, or null when it left none (or an unreadable one). */
export function readStartFailure(dir: string): RalphError | null {
  const file = join(dir, FILE);
  if (!existsSync(file)) return null;
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Stored>;
    if (typeof stored.code !== 'string' || typeof stored.message !== 'string') return null;
    return new RalphError(stored.code, stored.message, {
      hint: typeof stored.hint === 'string' ? stored.hint : undefined,
      exitCode: typeof stored.exitCode === 'number' ? stored.exitCode : undefined,
    });
  } catch {
    return null;
  }
}
