/**
 * Typed errors. Every error a user can act on carries a stable code from one table (src/error-codes.ts), an
 * exit code for the CLI (the code's, from the one exit-code table, src/exit-codes.ts, unless the call site
 * says otherwise) and an optional hint. The CLI's single top-level catch prints `message` (and `hint`) and
 * exits with `exitCode`.
 */
import { localErrors } from './error-codes.js';
import type { LocalErrorCode } from './error-codes.js';

export { ExitCode, loopEndExitCode } from './exit-codes.js';
export type { ExitCodeName } from './exit-codes.js';
export { localErrors, isLocalErrorCode } from './error-codes.js';
export type { LocalErrorCode, LocalErrorSpec } from './error-codes.js';

export interface RalphErrorOptions {
  hint?: string;
  /** Overrides the code's exit code from the table (src/error-codes.ts). */
  exitCode?: number;
  cause?: unknown;
  data?: unknown;
}

export class RalphError extends Error {
  readonly code: LocalErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly data: unknown;

  constructor(code: LocalErrorCode, message: string, options: RalphErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RalphError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? localErrors[code].exitCode;
    this.data = options.data;
  }
}

/** True when `err` is a RalphError, and (when given) one with that code. */
export function isRalphError(err: unknown, code?: LocalErrorCode): err is RalphError {
  return err instanceof RalphError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
