/**
 * Every exit code of the `ralph` command, in one table (documented in docs/cli.md, "Exit codes"; a test keeps
 * the two in step). General codes first, then how a loop a command followed to its end ended.
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
  connectionLost: 8,
  timeout: 9,
  /** Commands that follow a loop (`attach`, `start --attach`/`--foreground`, `demo`): you detached. */
  detached: 0,
  /** ... the loop completed: every story passes. */
  completed: 0,
  /** ... the iteration limit was reached with stories still failing. */
  exhausted: 10,
  /** ... too many failed iterations in a row, or the disk filled up. */
  failed: 11,
  /** ... `ralph stop`, or a signal to the runner. */
  stopped: 12,
  /** ... the runner died before it recorded an end, or its remote no longer knows it (`lost`). */
  crashed: 13,
  /** ... a budget (`--max-cost`, `--max-tokens`, `--max-duration`) was passed. */
  budgetExceeded: 14,
  /** ... iterations in a row changed nothing (`--stall-after`). */
  stalled: 15,
} as const;

export type ExitCodeName = keyof typeof ExitCode;

/** The exit code of a command that followed a loop until it ended with `status`. */
export function loopEndExitCode(status: string): number {
  switch (status) {
    case 'completed':
      return ExitCode.completed;
    case 'exhausted':
      return ExitCode.exhausted;
    case 'failed':
      return ExitCode.failed;
    case 'stopped':
      return ExitCode.stopped;
    case 'budget_exceeded':
      return ExitCode.budgetExceeded;
    case 'stalled':
      return ExitCode.stalled;
    default:
      return ExitCode.crashed;
  }
}

/**
 * The exit code of a command a daemon or runner refused with a protocol error, by the error's symbolic name
 * (src/protocol/errors.ts): bad input is a usage error, a missing loop or project is not found, and so on.
 */
export function rpcErrorExitCode(kind: string): number {
  switch (kind) {
    case 'PARSE_ERROR':
    case 'INVALID_REQUEST':
    case 'LINE_TOO_LONG':
    case 'NESTED_TOO_DEEP':
    case 'METHOD_NOT_FOUND':
    case 'INVALID_PARAMS':
    case 'NOT_ATTACHED':
      return ExitCode.usage;
    case 'LOOP_NOT_FOUND':
    case 'TASK_NOT_FOUND':
    case 'PROJECT_NOT_FOUND':
    case 'BRANCH_NOT_FOUND':
    case 'NO_SUCH_ITERATION':
    case 'OFFSET_OUT_OF_RANGE':
      return ExitCode.notFound;
    case 'TASK_EXISTS':
    case 'LEASE_HELD':
    case 'INVALID_STATE':
    case 'LOOP_ENDED':
    case 'BRANCH_IN_USE':
      return ExitCode.conflict;
    case 'MAX_LOOPS_EXCEEDED':
    case 'TOO_MANY_CONNECTIONS':
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'REMOTE_FAILED':
      return ExitCode.unavailable;
    case 'AGENT_NOT_FOUND':
    case 'AGENT_MISSING':
      return ExitCode.agentMissing;
    case 'INVALID_TASK':
      return ExitCode.invalidTask;
    case 'CONNECTION_CLOSED':
    case 'SLOW_CONSUMER':
      return ExitCode.connectionLost;
    case 'REQUEST_TIMEOUT':
      return ExitCode.timeout;
    default:
      // INTERNAL_ERROR, DISK_FULL (as the local DISK_FULL) and GIT_ERROR (git failed on the box), and codes this
      // version does not know.
      return ExitCode.failure;
  }
}
