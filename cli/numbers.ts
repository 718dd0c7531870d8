/** Numeric options, read from the text as typed so that an error can quote it (never "got NaN"). */
import { RalphError, ExitCode } from '../src/errors.js';

function invalid(flag: string, what: string, text: string): RalphError {
  return new RalphError('INVALID_OPTION', `${flag} must be ${what}, got ${JSON.stringify(text)}`, {
    exitCode: ExitCode.usage,
  });
}

/** A whole number of at least `min` (`5`, not `5.5`, `abc` or `-1`). */
export function wholeNumber(value: string | number, flag: string, min = 1): number {
  const text = String(value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw invalid(flag, `a whole number of at least ${min}`, text);
  return n;
}

/** A number of at least 0 (`0`, `0.5`, `20`). */
export function nonNegativeNumber(value: string | number, flag: string): number {
  const text = String(value).trim();
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n)) throw invalid(flag, 'a number of at least 0', text);
  return n;
}
