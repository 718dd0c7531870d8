/** The loop's own vocabulary: configuration, live state and iteration records. */

import type { LoopStatus } from '../protocol/index.js';
import type { StreamFormat } from './stream/types.js';
import type { Usage } from './usage.js';

export { LOOP_STATUSES } from '../protocol/statuses.js';
export type { LoopStatus };

export const ENDED_STATUSES: ReadonlySet<LoopStatus> = new Set([
  'completed',
  'exhausted',
  'failed',
  'stopped',
  'stalled',
  'budget_exceeded',
]);

export interface LoopConfig {
  task: string;
  taskDir: string;
  /** Where the agent runs; the task folder unless told otherwise. */
  cwd: string;
  agent: string;
  /** Command template for the `custom` agent. */
  agentCommand?: string | undefined;
  model?: string | undefined;
  maxIterations: number;
  /** Kill an iteration that runs longer than this (0 = no limit). */
  iterationTimeoutMs: number;
  /** Kill an iteration whose agent prints nothing for this long (0 = no limit). */
  idleTimeoutMs: number;
  /** This many failed iterations in a row end the loop as `failed`. */
  maxConsecutiveFailures: number;
  /** Accept `<promise>COMPLETE</promise>` as completion even when prd.json still has failing stories. */
  trustPromise: boolean;
  /** How long a stopped agent gets between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  cols: number;
  rows: number;
  env?: Record<string, string> | undefined;
  /** End the loop `stalled` after this many iterations in a row that change nothing (0 = never). */
  stallAfter?: number | undefined;
  /** Acceptance commands the runner runs itself after an iteration that marks stories passing. */
  verify?: string[] | undefined;
  /** How long each acceptance command may run. */
  verifyTimeoutMs?: number | undefined;
  /** End the loop `budget_exceeded` once it has run this long (0 or unset = no limit). */
  maxDurationMs?: number | undefined;
  /** Desktop notifications (notify-send) when the loop ends, waits on a rate limit or needs input. */
  notify?: boolean | undefined;
  /** Shell command run on the same events, with the loop's figures in RALPH_* variables. */
  onEnd?: string | undefined;
  /**
   * `json` (the default) runs the agent in its machine-readable mode where it has one, for transcripts, usage
   * and budgets; `text` runs it as a plain terminal program.
   */
  output?: 'text' | 'json' | undefined;
  /** The stream format a `custom` agent's command prints in `json` output (none: plain text). */
  streamFormat?: StreamFormat | undefined;
  /** End the loop `budget_exceeded` once the reported cost passes this many US dollars. */
  maxCostUsd?: number | undefined;
  /** End the loop `budget_exceeded` once input plus output tokens pass this many. */
  maxTokens?: number | undefined;
}

export { LOOP_DEFAULTS } from './defaults.js';

export interface LoopState {
  task: string;
  taskDir: string;
  agent: string;
  status: LoopStatus;
  iteration: number;
  maxIterations: number;
  currentStory: string | null;
  interactive: boolean;
  paused: boolean;
  storiesTotal: number;
  storiesPassing: number;
  agentPid: number | null;
  cols: number;
  rows: number;
  startedAt: string;
  updatedAt: string;
  exitReason: string | null;
  /** While `waiting`: when the rate limit is expected to reset (ISO-8601); null otherwise. */
  waitingUntil: string | null;
}

export type IterationOutcome =
  | 'progress'
  | 'no_progress'
  | 'completed'
  | 'error'
  | 'rate_limited'
  /** The agent marked stories passing but the runner's own acceptance commands failed; they were reverted. */
  | 'verify_failed'
  | 'timeout'
  | 'idle_timeout'
  | 'stopped'
  /** The runner ended without closing the iteration (set by reconciliation). */
  | 'crashed';

/**
 * Outcomes that count toward `maxConsecutiveFailures`. A rate-limited iteration does not: the loop waits for
 * the limit to reset and runs the same story again.
 */
export const FAILED_OUTCOMES: ReadonlySet<IterationOutcome> = new Set(['error', 'timeout', 'idle_timeout']);

export interface IterationRecord {
  number: number;
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  storyBefore: string | null;
  storyAfter: string | null;
  outcome: IterationOutcome | 'running';
  startOffset: number;
  endOffset: number | null;
  promiseSeen: boolean;
  note: string | null;
  /** The agent's pid and kernel start time (from /proc; null where unknown), so a surviving agent can be found. */
  agentPid?: number | null;
  agentStartTime?: string | null;
  /** The agent stream format the iteration ran with (null: plain text), and the usage it reported so far. */
  stream?: StreamFormat | null;
  usage?: Usage | null;
}
