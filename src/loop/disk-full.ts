/**
 * A full disk, named: the runner turns ENOSPC (and an exceeded quota) from any of its own writes into one
 * DISK_FULL error carrying the file it could not write, so the loop can end `failed` with `disk full: <path>`.
 */
import { RalphError, isRalphError } from '../errors.js';

const FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

export function isDiskFull(err: unknown): boolean {
  if (isRalphError(err, 'DISK_FULL')) return true;
  return FULL_CODES.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

export function diskFullError(path: string, cause?: unknown): RalphError {
  return new RalphError('DISK_FULL', `disk full: ${path}`, { cause, data: { path } });
}

/** A write to `path` failed: a full disk becomes DISK_FULL naming `path`, anything else is returned as is. */
export function writeError(err: unknown, path: string): unknown {
  if (err instanceof RalphError) return err;
  return isDiskFull(err) ? diskFullError(path, err) : err;
}
