/**
 * One iteration: build the prompt, run a fresh agent in a PTY under the iteration and idle timeouts, then judge
 * the result from prd.json itself, never from what the agent claims.
 */
import { writeFileSync } from 'node:fs';
import type { AgentProcess, AgentSpawn, AgentExit } from './agent-process.js';
import type { AgentAdapter } from './agents/index.js';
import type { IterationLog } from './iteration-log.js';
import type { OutputLog } from './output-log.js';
import { allPassing, currentStory, storyCounts, type Prd } from './prd.js';
import { buildPrompt } from './prompt.js';
import { streamFormatFor } from './budget.js';
import { writeError } from './disk-full.js';
import { LongTimer } from '../util/long-timer.js';
import { rateLimitAtEnd } from './guards.js';
import type { RateLimitSignal } from './rate-limit.js';
import type { IterationOutcome, IterationRecord, LoopConfig } from './types.js';
import { describeVerify, verifyNewlyPassing, VERIFY_TIMEOUT_MS } from './verify.js';
import { isoTime } from '../util/clock.js';

export const PROMISE_MARKER = '<promise>COMPLETE</promise>';
const PROMISE_BYTES = Buffer.from(PROMISE_MARKER);

export interface IterationTimers {
  /** Output or keystrokes were seen: restart the idle clock. */
  activity(): void;
  /** Hold the clocks (paused or interactive). */
  suspend(): void;
  /** Re-arm the clocks after a hold, if nothing holds the loop any more. */
  refresh(): void;
  /** End the agent: SIGTERM with a grace period, or SIGKILL at once. */
  terminate(signal: 'SIGTERM' | 'SIGKILL', reason?: 'timeout' | 'idle_timeout' | 'stopped'): void;
}

export interface IterationContext {
  number: number;
  /** Where this iteration's output begins in the log. */
  startOffset: number;
  config: LoopConfig;
  adapter: AgentAdapter;
  prd: Prd;
  injected: string[];
  promptFile: string;
  log: OutputLog;
  iterations: IterationLog;
  spawn(spec: AgentSpawn): AgentProcess;
  isHeld(): boolean;
  stopRequest(): { force: boolean } | null;
  reloadPrd(): Prd;
  note(text: string): void;
  timers: IterationTimers | null;
  /** A rate or usage limit the agent hit in this iteration: set by a stream parser, or from the output's end. */
  rateLimit: RateLimitSignal | null;
}

export async function runIteration(ctx: IterationContext): Promise<IterationRecord> {
  const { config } = ctx;
  const storyBefore = currentStory(ctx.prd);
  const passingBefore = storyCounts(ctx.prd).passing;
  const prompt = buildPrompt({
    taskDir: config.taskDir,
    injected: ctx.injected,
    iteration: ctx.number,
    story: storyBefore,
  });
  try {
    writeFileSync(ctx.promptFile, prompt, { mode: 0o600 });
  } catch (err) {
    throw writeError(err, ctx.promptFile);
  }
  const command = ctx.adapter.buildCommand({
    prompt,
    promptFile: ctx.promptFile,
    taskDir: config.taskDir,
    cwd: config.cwd,
    model: config.model,
    template: config.agentCommand,
    structured: streamFormatFor(config, ctx.adapter) !== null,
  });
  ctx.iterations.begin({
    number: ctx.number,
    startedAt: isoTime(),
    endedAt: null,
    exitCode: null,
    signal: null,
    storyBefore: storyBefore?.id ?? null,
    storyAfter: null,
    outcome: 'running',
    startOffset: ctx.startOffset,
    endOffset: null,
    promiseSeen: false,
    note: null,
  });

  const agent = ctx.spawn({
    file: command.file,
    args: command.args,
    cwd: command.cwd,
    env: {
      ...process.env,
      ...config.env,
      ...command.env,
      RALPH_ITERATION: String(ctx.number),
      RALPH_TASK_DIR: config.taskDir,
      RALPH_STORY: storyBefore?.id ?? '',
    },
    cols: config.cols,
    rows: config.rows,
  });

  // The promise is looked for in every chunk (and across chunk boundaries) with a plain byte search; this
  // runs on every byte the agent prints, so it must stay cheap.
  let promiseSeen = false;
  let carry = Buffer.alloc(0);
  agent.on('data', (chunk) => {
    if (promiseSeen) return;
    const seam = Buffer.concat([carry, chunk.subarray(0, PROMISE_BYTES.length - 1)]);
    promiseSeen = seam.includes(PROMISE_BYTES) || chunk.includes(PROMISE_BYTES);
    carry = Buffer.from(chunk.subarray(Math.max(0, chunk.length - (PROMISE_BYTES.length - 1))));
  });

  const killed: { reason: 'timeout' | 'idle_timeout' | 'stopped' | null } = { reason: null };
  const exited = new Promise<AgentExit>((resolve) => agent.once('exit', resolve));
  ctx.timers = armTimers(ctx, agent, killed);
  const stop = ctx.stopRequest();
  if (stop) ctx.timers.terminate(stop.force ? 'SIGKILL' : 'SIGTERM', 'stopped');
  const exit = await exited;
  ctx.timers.suspend();

  let prd = ctx.reloadPrd();
  const verified = killed.reason
    ? null
    : await verifyNewlyPassing({
        iteration: ctx.number,
        taskDir: config.taskDir,
        cwd: config.cwd,
        before: ctx.prd,
        after: prd,
        commands: config.verify ?? [],
        timeoutMs: config.verifyTimeoutMs ?? VERIFY_TIMEOUT_MS,
        env: { ...process.env, ...config.env },
      });
  if (verified !== null && verified.reverted.length > 0) {
    ctx.note(describeVerify(verified));
    prd = ctx.reloadPrd();
  }
  ctx.rateLimit ??= rateLimitAtEnd(ctx.log, ctx.startOffset, exit.exitCode !== 0);
  const storyAfter = currentStory(prd);
  let outcome: IterationOutcome;
  let note: string | null = null;
  if (killed.reason) outcome = killed.reason;
  else if (verified !== null && verified.reverted.length > 0) outcome = 'verify_failed';
  else if (allPassing(prd)) outcome = 'completed';
  else if (ctx.rateLimit !== null && storyCounts(prd).passing <= passingBefore) outcome = 'rate_limited';
  else if (exit.exitCode !== 0) outcome = 'error';
  else if (storyCounts(prd).passing > passingBefore || storyAfter?.id !== storyBefore?.id)
    outcome = 'progress';
  else outcome = 'no_progress';

  if (promiseSeen && outcome !== 'completed') {
    if (config.trustPromise && !killed.reason) {
      outcome = 'completed';
      note = 'completion promise trusted although prd.json still has failing stories';
    } else {
      note = 'agent printed the completion promise but prd.json still has failing stories; not trusted';
    }
    ctx.note(note);
  }
  const exitText = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`;
  ctx.note(`iteration ${ctx.number} ended: ${outcome.replace('_', ' ')} (${exitText})`);
  return ctx.iterations.finish({
    endedAt: isoTime(),
    exitCode: exit.exitCode,
    signal: exit.signal,
    storyAfter: storyAfter?.id ?? null,
    outcome,
    endOffset: ctx.log.end,
    promiseSeen,
    note,
  });
}

function armTimers(
  ctx: IterationContext,
  agent: AgentProcess,
  killed: { reason: 'timeout' | 'idle_timeout' | 'stopped' | null },
): IterationTimers {
  const { iterationTimeoutMs, idleTimeoutMs, stopGraceMs } = ctx.config;
  let budgetLeft = iterationTimeoutMs;
  let armedAt = 0;
  // Long-delay timers: a limit of 25 days must not fire at once as a plain setTimeout would.
  const iterationTimer = new LongTimer(() => timers.terminate('SIGTERM', 'timeout'));
  const idleTimer = new LongTimer(() => timers.terminate('SIGTERM', 'idle_timeout'));
  let killTimer: NodeJS.Timeout | undefined;
  let armed = false;

  const clear = (): void => {
    if (armed && iterationTimeoutMs > 0) budgetLeft -= Date.now() - armedAt;
    iterationTimer.clear();
    idleTimer.clear();
    armed = false;
  };
  const arm = (): void => {
    if (armed || !agent.running || ctx.isHeld() || killed.reason) return;
    armed = true;
    armedAt = Date.now();
    if (iterationTimeoutMs > 0) iterationTimer.start(Math.max(0, budgetLeft));
    if (idleTimeoutMs > 0) idleTimer.start(idleTimeoutMs);
  };
  const timers: IterationTimers = {
    activity() {
      if (armed && idleTimeoutMs > 0) idleTimer.restart();
    },
    suspend: clear,
    refresh() {
      if (ctx.isHeld()) clear();
      else arm();
    },
    terminate(signal, reason = 'stopped') {
      if (!agent.running) return;
      killed.reason ??= reason;
      clear();
      if (reason !== 'stopped') {
        const limit =
          reason === 'timeout' ? `${iterationTimeoutMs} ms iteration` : `${idleTimeoutMs} ms idle`;
        ctx.note(`killing the agent: ${limit} timeout reached`);
      }
      agent.signal('SIGCONT');
      agent.signal(signal);
      if (signal === 'SIGTERM') {
        clearTimeout(killTimer);
        killTimer = setTimeout(() => agent.signal('SIGKILL'), stopGraceMs);
        killTimer.unref();
      }
    },
  };
  agent.once('exit', () => {
    clear();
    clearTimeout(killTimer);
  });
  arm();
  return timers;
}
