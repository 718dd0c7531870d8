/**
 * Typed errors. Every error a user can act on carries a stable code, an exit code for the CLI and an
 * optional hint. The CLI's single top-level catch prints `message` (and `hint`) and exits with `exitCode`.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  unavailable: 5,
  agentMissing: 6,
  invalidTask: 7,
  detached: 0,
  loopEnded: 0,
  connectionLost: 8,
  timeout: 9,
} as const;

export interface RalphErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
  data?: unknown;
}

export class RalphError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly data: unknown;

  constructor(code: string, message: string, options: RalphErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RalphError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.data = options.data;
  }
}

export function isRalphError(err: unknown): err is RalphError {
  return err instanceof RalphError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
