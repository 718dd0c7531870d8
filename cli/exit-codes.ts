/**
 * Exit codes of commands that follow a loop to its end (`attach`, `start --foreground`, `demo`, `wait`). Documented in
 * docs/cli.md; the general codes live in src/errors.ts.
 */
export const LoopExit = {
  detached: 0,
  completed: 0,
  exhausted: 10,
  failed: 11,
  stopped: 12,
  crashed: 13,
  budgetExceeded: 14,
  stalled: 15,
  connectionLost: 8,
} as const;

export function loopEndExitCode(status: string): number {
  switch (status) {
    case 'completed':
      return LoopExit.completed;
    case 'exhausted':
      return LoopExit.exhausted;
    case 'failed':
      return LoopExit.failed;
    case 'stopped':
      return LoopExit.stopped;
    case 'stalled':
      return LoopExit.stalled;
    case 'budget_exceeded':
      return LoopExit.budgetExceeded;
    default:
      return LoopExit.crashed;
  }
}
