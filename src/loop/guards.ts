/**
 * The runner's guards between iterations: the whole-loop time budget (`maxDurationMs`), waiting out rate
 * limits (shared by every loop on the machine using the same agent, through `RateLimitNotes`) and stalls.
 * The runner asks before each iteration and tells after each; it keeps the state changes and the waiting.
 */
import { stripVTControlCharacters } from 'node:util';
import type { OutputLog } from './output-log.js';
import { backoffMs, detectRateLimit, RateLimitNotes, type RateLimitSignal } from './rate-limit.js';
import { StallWatch } from './stall.js';
import type { IterationRecord, LoopConfig, LoopState, LoopStatus } from './types.js';
import { LongTimer } from '../util/long-timer.js';

/** Stall after this many unchanged iterations unless told otherwise. */
export const DEFAULT_STALL_AFTER = 3;
/** How much of an iteration's last output is searched for a limit message. */
const TAIL_BYTES = 16 * 1024;
const TAIL_LINES = 40;

export interface PendingWait {
  until: Date;
  message: string;
}

/** "8h", "90m", "45s": a duration as given; "8h 0m", "2m 5s": an elapsed time. */
export function formatLimit(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

/** Lines (ANSI stripped) at the end of an iteration's output, oldest first. */
export function tailLines(log: OutputLog, startOffset: number): string[] {
  const from = Math.max(startOffset, log.end - TAIL_BYTES);
  const text = log.read(from, log.end - from).toString('utf8');
  return text
    .split('\n')
    .map((line) => stripVTControlCharacters(line).replace(/\r/g, ''))
    .slice(-TAIL_LINES);
}

/** The limit message at the end of an iteration, if any; see `detectRateLimit`. */
export function rateLimitAtEnd(log: OutputLog, startOffset: number, failed: boolean): RateLimitSignal | null {
  return detectRateLimit(tailLines(log, startOffset), failed);
}

export interface GuardOptions {
  /** The folder of shared rate-limit notes (`<data>/rate-limits`); without it a loop waits on its own. */
  rateLimitDir?: string | undefined;
}

export class LoopGuards {
  private readonly stall: StallWatch;
  private consecutiveLimits = 0;
  private limitedNow = false;
  /** The wait this runner decided on itself, for when no shared note folder is set. */
  private ownWait: PendingWait | null = null;

  private readonly notes: RateLimitNotes | null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: LoopConfig,
    options: GuardOptions,
    private readonly host: WaitHost,
  ) {
    this.notes = options.rateLimitDir === undefined ? null : new RateLimitNotes(options.rateLimitDir);
    this.stall = new StallWatch(config.taskDir, config.cwd, config.stallAfter ?? DEFAULT_STALL_AFTER);
  }

  start(): Promise<void> {
    return this.stall.start();
  }

  /** Why the loop must end `budget_exceeded` now, or null. */
  overBudget(now = Date.now()): string | null {
    const limit = this.config.maxDurationMs ?? 0;
    const elapsed = now - this.startedAt;
    if (limit <= 0 || elapsed < limit) return null;
    return `max duration ${formatLimit(limit)} reached (${formatElapsed(elapsed)} elapsed)`;
  }

  /** When the loop's time budget runs out, or null without one. */
  get deadline(): number | null {
    const limit = this.config.maxDurationMs ?? 0;
    return limit > 0 ? this.startedAt + limit : null;
  }

  /** The rate limit to wait out before the next iteration: the shared note for this agent, or this loop's own. */
  pendingWait(now = new Date()): PendingWait | null {
    const shared = this.notes?.active(this.config.agent, now);
    if (shared) return { until: new Date(shared.resetAt), message: shared.message };
    if (this.ownWait && this.ownWait.until.getTime() > now.getTime()) return this.ownWait;
    this.ownWait = null;
    return null;
  }

  /**
   * Records a limit the agent hit (shared with the other loops on this agent); returns the wait it causes.
   * An iteration that did nothing but hit the limit (`wasted`) is not charged to the iteration limit.
   */
  rateLimited(signal: RateLimitSignal, wasted: boolean, now = new Date()): PendingWait {
    this.consecutiveLimits++;
    this.limitedNow = true;
    const until = signal.resetAt ?? new Date(now.getTime() + backoffMs(this.consecutiveLimits));
    const wait = { until, message: signal.message };
    this.ownWait = wait;
    this.notes?.record(this.config.agent, {
      resetAt: until.toISOString(),
      message: signal.message,
      task: this.config.task,
      writtenAt: now.toISOString(),
    });
    this.host.note(`rate limit reached: ${signal.message} (resets ${until.toISOString()})`);
    if (wasted) this.host.update({ maxIterations: this.host.maxIterations() + 1 });
    return wait;
  }

  /**
   * Holds the loop `waiting` until the pending rate limit resets (or the loop's time budget ends, or the runner
   * wakes it); true when it waited, so the runner checks everything again before the next iteration.
   */
  waitOutRateLimit(): Promise<boolean> {
    return waitOut(this, this.host);
  }

  /**
   * After an iteration that ran the agent: resets the backoff when no limit was hit, and returns the evidence
   * when the loop has stalled. Rate-limited and stopped iterations are not judged for stalls.
   */
  async afterIteration(record: IterationRecord): Promise<string | null> {
    const limited = this.limitedNow;
    this.limitedNow = false;
    if (!limited) this.consecutiveLimits = 0;
    if (limited || record.outcome === 'stopped' || record.outcome === 'rate_limited') return null;
    return this.stall.observe(record.number);
  }
}

/** What `waitOutRateLimit` needs of the runner. */
export interface WaitHost {
  update(patch: Partial<LoopState>): void;
  note(text: string): void;
  attention(): void;
  /** Hands the runner the function that ends the wait early (stop, resume, ...). */
  hold(wake: (() => void) | null): void;
  /** The status to return to once the wait is over. */
  resumeStatus(): LoopStatus;
  maxIterations(): number;
}

async function waitOut(guards: LoopGuards, host: WaitHost): Promise<boolean> {
  const wait = guards.pendingWait();
  if (wait === null) return false;
  const until = Math.min(wait.until.getTime(), guards.deadline ?? Infinity);
  host.update({ status: 'waiting', waitingUntil: wait.until.toISOString() });
  host.note(`waiting until ${wait.until.toISOString()} for the rate limit to reset (${wait.message})`);
  host.attention();
  const timer = new LongTimer(() => wake());
  let wake: () => void = () => undefined;
  await new Promise<void>((resolve) => {
    wake = resolve;
    host.hold(resolve);
    timer.start(until - Date.now());
  });
  timer.clear();
  host.hold(null);
  host.update({ waitingUntil: null, status: host.resumeStatus() });
  return true;
}
