/**
 * The loop runner: runs agent iterations in a PTY until every story passes or a limit is hit. It owns the
 * output log, the rendered screen and the loop's state, and reports every change as a typed event. It knows
 * nothing of sockets or the registry; `runner-main.ts` wires those to it.
 */
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, RalphError } from '../errors.js';
import { processStartTime } from '../util/proc.js';
import { AgentProcess } from './agent-process.js';
import { getAgent } from './agents/index.js';
import { archiveIfBranchChanged } from './archive.js';
import { LoopMeter } from './budget.js';
import { isDiskFull, writeError } from './disk-full.js';
import { runIteration, type IterationContext } from './iteration.js';
import { LoopGuards, type GuardOptions } from './guards.js';
import type { RateLimitSignal } from './rate-limit.js';
import type { IterationLog } from './iteration-log.js';
import { OutputLines } from './lines.js';
import type { OutputLog } from './output-log.js';
import { openSessionFiles, runnerFiles, saveLoopConfig, type RunnerFiles } from './session-files.js';

export { runnerFiles, type RunnerFiles } from './session-files.js';
import { allPassing, currentStory, loadPrd, storyCounts, type Prd } from './prd.js';
import type { ScreenSnapshot } from './screen.js';
import { createScreenModel, type ScreenModel } from './screen-model.js';
import {
  ENDED_STATUSES,
  FAILED_OUTCOMES,
  type IterationRecord,
  type LoopConfig,
  type LoopState,
  type LoopStatus,
} from './types.js';
import { bannerBytes, noteBytes } from './marks.js';
import { isoTime } from '../util/clock.js';

export interface RunnerEvents {
  /** Changed state fields (only those that changed). */
  state: [Partial<LoopState>];
  /** A complete output line, ANSI stripped. */
  line: [string];
  /** Raw PTY bytes at `offset` of the log; they are appended right after this event. */
  pty: [number, Buffer];
  iteration: [IterationRecord];
  /** A diagnostic for the runner's own log. */
  log: [string];
  /** Someone may want to know: the loop waits on a rate limit, or a checkpoint paused it for input. */
  attention: ['waiting' | 'input'];
}

export class LoopRunner extends EventEmitter<RunnerEvents> {
  readonly config: LoopConfig;
  readonly files: RunnerFiles;
  readonly log: OutputLog;
  readonly iterations: IterationLog;
  private readonly screen: ScreenModel;
  readonly meter: LoopMeter;
  private readonly lines = new OutputLines(50);
  private readonly injected: string[] = [];
  private readonly current: LoopState;
  private agent: AgentProcess | null = null;
  private stopRequest: { force: boolean } | null = null;
  private checkpointRequested = false;
  private wake: (() => void) | null = null;
  private activeIteration: IterationContext | null = null;
  /** Why the loop must end `failed` (a full disk), once known. */
  private failure: string | null = null;
  private readonly guards: LoopGuards;

  constructor(config: LoopConfig, dir: string, options: GuardOptions = {}) {
    super();
    this.config = config;
    this.guards = new LoopGuards(config, options, {
      update: (patch) => this.update(patch),
      note: (text) => this.note(text),
      attention: () => this.emit('attention', 'waiting'),
      hold: (wake) => (this.wake = wake),
      resumeStatus: () => this.statusFor(this.current.interactive, this.current.paused),
      maxIterations: () => this.current.maxIterations,
    });
    this.files = runnerFiles(dir);
    ({ log: this.log, iterations: this.iterations } = openSessionFiles(this.files));
    this.screen = createScreenModel(config.cols, config.rows, { source: this.log });
    // The meter renders structured agent output and stops the agent (the loop going on) once over a budget.
    this.meter = new LoopMeter(config, this.files.dir, this.iterations, {
      write: (bytes) => this.output(bytes),
      stop: () => this.activeIteration?.timers?.terminate('SIGTERM'),
      log: (text) => this.emit('log', text),
      rateLimit: (signal) => this.reportRateLimit(signal),
    });
    const now = isoTime();
    this.current = {
      task: config.task,
      taskDir: config.taskDir,
      agent: config.agent,
      status: 'starting',
      iteration: this.iterations.last()?.number ?? 0,
      maxIterations: config.maxIterations,
      currentStory: null,
      interactive: false,
      paused: false,
      storiesTotal: 0,
      storiesPassing: 0,
      agentPid: null,
      cols: config.cols,
      rows: config.rows,
      startedAt: now,
      updatedAt: now,
      exitReason: null,
      waitingUntil: null,
    };
    this.countStories();
  }

  /**
   * A client may ask for status before the first iteration reads prd.json: the story counts are known from the
   * start. A prd.json that cannot be read leaves them at zero; the loop reports why when it reads it.
   */
  private countStories(): void {
    try {
      Object.assign(this.current, prdFigures(loadPrd(join(this.config.taskDir, 'prd.json'))));
    } catch {
      // reported by the loop's own read
    }
  }

  get state(): Readonly<LoopState> {
    return this.current;
  }

  get ended(): boolean {
    return ENDED_STATUSES.has(this.current.status);
  }

  /** Lines are cleaned one by one only while someone listens for them. */
  private get wantLines(): boolean {
    return this.listenerCount('line') > 0;
  }

  recentOutput(): string[] {
    return this.lines.snapshot();
  }

  /** The rendered screen, once every byte written so far has been parsed, with up to `scrollback` lines above. */
  peek(scrollback = 0): Promise<ScreenSnapshot> {
    return this.screen.snapshot(scrollback);
  }

  /** Runs iterations until the loop ends; resolves with the final state. Never rejects. The log stays open. */
  async run(): Promise<LoopState> {
    try {
      return await this.loop();
    } catch (err) {
      if (isDiskFull(err)) {
        this.failWith(errorMessage(writeError(err, this.files.dir)));
        this.closeRecordsOnFullDisk();
      } else
        this.emit('log', `loop failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return this.finish('failed', this.failure ?? errorMessage(err));
    }
  }

  /**
   * The last iteration's record could not be written for want of space. The prompt copy in the session folder
   * (rewritten every iteration, not needed once the loop ends) makes room for one more try, so the file names
   * how the iteration ended; if even that fails, iterations.json keeps its previous complete version.
   */
  private closeRecordsOnFullDisk(): void {
    rmSync(this.files.promptFile, { force: true });
    if (!this.iterations.flush())
      this.emit('log', `could not record the last iteration in ${this.files.iterations}`);
  }

  /**
   * A fault the loop cannot go on with (a full disk): stop the agent as `stop` does, write nothing more to the
   * session folder, and end the loop `failed` with `reason`.
   */
  private failWith(reason: string): void {
    if (this.failure !== null) return;
    this.failure = reason;
    this.emit('log', `${reason}; stopping the loop`);
    this.stop();
  }

  /** Releases the output log and the screen; call after `run()` resolved and the log's readers are done. */
  close(): void {
    this.screen.dispose();
    this.log.close();
  }

  private async loop(): Promise<LoopState> {
    this.update({ status: 'running' });
    const adapter = getAgent(this.config.agent);
    const archived = archiveIfBranchChanged(this.config.taskDir);
    if (archived.archived) this.note(`archived the previous run to ${archived.archived}`);
    let failures = 0;
    // A loop with nothing to do ends before its first await: no client can be answered in between, so the first
    // status anyone gets (`ralph start` waiting for the runner, say) already says the loop ended and why.
    let prd = this.readPrd();
    const atOnce = this.endsBeforeIteration(prd);
    if (atOnce) return atOnce;
    await this.guards.start();
    for (;;) {
      prd = this.readPrd();
      const ended = this.endsBeforeIteration(prd);
      if (ended) return ended;
      await this.waitWhileHeld();
      if (this.stopRequest || (await this.guards.waitOutRateLimit())) continue;
      const record = await this.iterate(adapter, prd);
      if (record.outcome === 'completed') {
        // A completed iteration with a note is a trusted promise: prd.json still has failing stories.
        return this.finish('completed', record.note ?? 'all stories pass');
      }
      if (record.outcome === 'stopped') continue;
      const stalled = await this.guards.afterIteration(record);
      failures = FAILED_OUTCOMES.has(record.outcome as never) ? failures + 1 : 0;
      if (failures >= this.config.maxConsecutiveFailures) {
        return this.finish('failed', `${failures} consecutive failed iterations (last: ${record.outcome})`);
      }
      // A stall names the ending only when nothing else ends the loop here: a stop, all stories passing, a
      // budget passed during the iteration (the agent may have exited before it could be stopped for it) and
      // the iteration limit come first, as failures do above.
      if (stalled !== null)
        return this.endsBeforeIteration(this.readPrd()) ?? this.finish('stalled', stalled);
      if (this.checkpointRequested) {
        this.checkpointRequested = false;
        this.update({ paused: true, status: 'paused' });
        this.note('checkpoint: paused after the iteration; resume to continue');
        this.emit('attention', 'input');
      }
    }
  }

  /** Ends the loop if it must not run another iteration (stopped, all passing, over a limit); else null. */
  private endsBeforeIteration(prd: Prd): LoopState | null {
    if (this.failure !== null) return this.finish('failed', this.failure);
    if (this.stopRequest) return this.finish('stopped', 'stopped on request');
    if (allPassing(prd)) return this.finish('completed', 'all stories pass');
    const overBudget = this.meter.exceeded() ?? this.guards.overBudget();
    if (overBudget) return this.finish('budget_exceeded', overBudget);
    if (this.current.iteration >= this.current.maxIterations) {
      const limit = this.current.maxIterations;
      return this.finish('exhausted', `reached the limit of ${limit} iteration${limit === 1 ? '' : 's'}`);
    }
    return null;
  }

  private readPrd(): Prd {
    const prd = loadPrd(join(this.config.taskDir, 'prd.json'));
    this.update(prdFigures(prd));
    return prd;
  }

  private async iterate(adapter: ReturnType<typeof getAgent>, prd: Prd): Promise<IterationRecord> {
    const number = this.current.iteration + 1;
    this.update({ iteration: number });
    // The iteration's output starts with its banner, so replay and `logs --iteration` show it too.
    const startOffset = this.log.end;
    this.banner(`iteration ${number}/${this.current.maxIterations}`, this.current.currentStory);
    const ctx: IterationContext = {
      startOffset,
      number,
      config: this.config,
      adapter,
      prd,
      injected: this.injected.splice(0),
      promptFile: this.files.promptFile,
      log: this.log,
      iterations: this.iterations,
      spawn: (spec) => {
        this.agent = new AgentProcess(spec);
        // The record names its agent, so an agent that outlives a killed runner can still be found.
        const pid = this.agent.pid;
        const begun = this.iterations.update({ agentPid: pid, agentStartTime: processStartTime(pid) });
        // Watchers learn of the iteration as it starts, then again as it ends.
        this.emit('iteration', begun);
        this.meter.begin(number, adapter, this.agent);
        this.update({ agentPid: this.agent.pid });
        return this.agent;
      },
      isHeld: () => this.current.paused || this.current.interactive,
      stopRequest: () => this.stopRequest,
      reloadPrd: () => this.readPrd(),
      note: (text) => this.note(text),
      timers: null,
      rateLimit: null,
    };
    this.activeIteration = ctx;
    try {
      const record = this.meter.finish(await runIteration(ctx));
      if (ctx.rateLimit !== null) this.guards.rateLimited(ctx.rateLimit, record.outcome === 'rate_limited');
      this.emit('iteration', record);
      return record;
    } finally {
      for (const line of this.lines.flush(this.wantLines)) this.emit('line', line);
      this.activeIteration = null;
      this.agent = null;
      this.update({ agentPid: null });
    }
  }

  /** A stream parser's report of a rate-limit event in the running iteration (text detection runs anyway). */
  reportRateLimit(signal: RateLimitSignal): void {
    if (this.activeIteration) this.activeIteration.rateLimit ??= signal;
  }

  /** Blocks between iterations while paused (also after a checkpoint) or held in interactive mode. */
  private async waitWhileHeld(): Promise<void> {
    while ((this.current.paused || this.current.interactive) && !this.stopRequest) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.wake = null;
  }

  private poke(): void {
    this.wake?.();
    this.activeIteration?.timers?.refresh();
  }

  /** Every output byte: sent to attached clients, logged, then rendered and split into lines. */
  private output(chunk: Buffer): void {
    // The bytes' offset is fixed first; clients that are caught up get them straight from memory, and the
    // log write (a disk write) follows, off the keystroke-echo path. Clients behind read the log later.
    // After a full disk nothing more is logged, so offsets stay true; what the agent prints is dropped.
    if (this.failure !== null) return;
    const offset = this.log.end;
    this.emit('pty', offset, chunk);
    try {
      this.log.append(chunk);
    } catch (err) {
      // This runs in the PTY's data handler: a throw here would take the whole runner down.
      if (!isDiskFull(err)) throw err;
      this.failWith(errorMessage(err));
      return;
    }
    this.screen.write(chunk);
    this.activeIteration?.timers?.activity();
    for (const line of this.lines.push(chunk, this.wantLines)) this.emit('line', line);
  }

  /** Writes a line of ralph's own into the terminal stream (dim), so attached users see loop events. */
  private note(text: string): void {
    this.emit('log', text);
    this.output(noteBytes(text));
  }

  private banner(title: string, story: string | null): void {
    const label = story ? `${title} · ${story}` : title;
    this.output(bannerBytes(label));
  }

  private update(patch: Partial<LoopState>): void {
    const changed: Partial<LoopState> = {};
    for (const [key, value] of Object.entries(patch) as [keyof LoopState, unknown][]) {
      if (this.current[key] !== value) {
        (changed as Record<string, unknown>)[key] = value;
        (this.current as unknown as Record<string, unknown>)[key] = value;
      }
    }
    if (Object.keys(changed).length === 0) return;
    this.current.updatedAt = isoTime();
    this.emit('state', changed);
  }

  private finish(status: LoopStatus, reason: string): LoopState {
    this.note(`loop ${status}: ${reason}`);
    this.update({ status, exitReason: reason, paused: false, interactive: false });
    return { ...this.current };
  }

  // ---- control, called by the RPC layer ----

  stop(force = false): void {
    if (this.ended) return;
    this.stopRequest = { force: force || (this.stopRequest?.force ?? false) };
    this.update({ status: 'stopping' });
    if (this.agent) {
      if (this.current.paused) this.agent.signal('SIGCONT');
      this.activeIteration?.timers?.terminate(force ? 'SIGKILL' : 'SIGTERM');
    }
    this.poke();
  }

  checkpoint(): void {
    this.assertLive('checkpoint');
    this.checkpointRequested = true;
  }

  injectPrompt(prompt: string): void {
    this.assertLive('inject a prompt into');
    this.injected.push(prompt);
  }

  setInteractive(enabled: boolean): void {
    if (enabled) this.assertLive('enter interactive mode in');
    if (this.current.interactive === enabled) return;
    this.update({ interactive: enabled, status: this.statusFor(enabled, this.current.paused) });
    this.poke();
  }

  /** Forwards keystrokes; returns why they were dropped, or null when forwarded. */
  writePty(data: string | Buffer): string | null {
    if (!this.current.interactive) return 'not in interactive mode';
    if (!this.agent?.running) return 'no agent process is running';
    this.agent.write(data);
    this.activeIteration?.timers?.activity();
    return null;
  }

  resize(cols: number, rows: number): void {
    this.config.cols = cols;
    this.config.rows = rows;
    this.screen.resize(cols, rows);
    this.agent?.resize(cols, rows);
    this.update({ cols, rows });
  }

  pause(): void {
    this.assertLive('pause');
    if (this.current.paused) return;
    this.agent?.signal('SIGSTOP');
    this.activeIteration?.timers?.suspend();
    this.update({ paused: true, status: 'paused' });
  }

  resume(): void {
    this.assertLive('resume');
    if (!this.current.paused) return;
    this.agent?.signal('SIGCONT');
    this.update({ paused: false, status: this.statusFor(this.current.interactive, false) });
    this.poke();
  }

  addIterations(count: number): number {
    this.assertLive('add iterations to');
    this.update({ maxIterations: this.current.maxIterations + count });
    return this.current.maxIterations;
  }

  private statusFor(interactive: boolean, paused: boolean): LoopStatus {
    if (this.stopRequest) return 'stopping';
    if (paused) return 'paused';
    return interactive ? 'interactive' : 'running';
  }

  private assertLive(action: string): void {
    if (this.ended || this.stopRequest) {
      throw new RalphError('LOOP_ENDED', `cannot ${action} a loop that is ${this.current.status}`);
    }
  }

  /** Writes the loop config next to its logs, for `ralph logs` and post-mortems. */
  saveConfig(): void {
    saveLoopConfig(this.files.dir, this.config);
  }
}

/** The state fields prd.json decides: the current story and the story counts. */
function prdFigures(prd: Prd): Pick<LoopState, 'currentStory' | 'storiesTotal' | 'storiesPassing'> {
  const counts = storyCounts(prd);
  return {
    currentStory: currentStory(prd)?.id ?? null,
    storiesTotal: counts.total,
    storiesPassing: counts.passing,
  };
}
