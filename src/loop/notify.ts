/**
 * Telling someone: a desktop notification (`notify-send`, where it exists) and the `--on-end` command, run when
 * the loop ends, waits on a rate limit, or needs input (a checkpoint paused it). The command runs through the
 * shell with the loop's figures in RALPH_* variables (docs/cli.md lists them); its output goes to the runner log.
 */
import { findOnPath } from './agents/detect.js';
import { loadExeca, type Execa } from '../util/load-execa.js';
import type { LoopState } from './types.js';
import { errorMessage } from '../errors.js';

export type NoticeEvent = 'ended' | 'waiting' | 'input';

/** How long an `--on-end` command or notify-send may run. */
export const NOTIFY_TIMEOUT_MS = 30_000;

export interface NotifierOptions {
  notify?: boolean | undefined;
  onEnd?: string | undefined;
  sessionDir: string;
  log(line: string): void;
  env?: NodeJS.ProcessEnv;
}

/** The environment an `--on-end` command sees. */
export function noticeEnv(event: NoticeEvent, state: LoopState, sessionDir: string): Record<string, string> {
  return {
    RALPH_EVENT: event,
    RALPH_STATUS: state.status,
    RALPH_TASK: state.task,
    RALPH_TASK_DIR: state.taskDir,
    RALPH_AGENT: state.agent,
    RALPH_REASON: state.exitReason ?? '',
    RALPH_ITERATIONS: String(state.iteration),
    RALPH_MAX_ITERATIONS: String(state.maxIterations),
    RALPH_STORIES_PASSING: String(state.storiesPassing),
    RALPH_STORIES_TOTAL: String(state.storiesTotal),
    RALPH_WAITING_UNTIL: state.waitingUntil ?? '',
    RALPH_SESSION_DIR: sessionDir,
  };
}

function summary(event: NoticeEvent, state: LoopState): { title: string; body: string } {
  const figures = `${state.storiesPassing}/${state.storiesTotal} stories, iteration ${state.iteration}`;
  if (event === 'waiting')
    return {
      title: `ralph: ${state.task} waiting`,
      body: `rate limit; resumes at ${state.waitingUntil ?? '?'}`,
    };
  if (event === 'input') return { title: `ralph: ${state.task} needs input`, body: `paused (${figures})` };
  return { title: `ralph: ${state.task} ${state.status}`, body: `${state.exitReason ?? ''} (${figures})` };
}

export class Notifier {
  private warnedNoNotifySend = false;
  private pending = new Set<Promise<void>>();

  constructor(private readonly options: NotifierOptions) {}

  get active(): boolean {
    return Boolean(this.options.notify) || Boolean(this.options.onEnd);
  }

  /** Starts both kinds of notice for `event`; `settled()` waits for them. Never throws. */
  send(event: NoticeEvent, state: LoopState): void {
    if (!this.active) return;
    const snapshot = { ...state };
    const job = Promise.all([this.desktop(event, snapshot), this.command(event, snapshot)]).then(
      () => undefined,
    );
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  /** Resolves once every notice started so far has finished (each is bounded by NOTIFY_TIMEOUT_MS). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** execa, or null (logged) when it cannot be loaded: a notice that cannot be given must not end the loop. */
  private async execa(): Promise<Execa | null> {
    try {
      return await loadExeca();
    } catch (err) {
      this.options.log(errorMessage(err));
      return null;
    }
  }

  private async desktop(event: NoticeEvent, state: LoopState): Promise<void> {
    if (!this.options.notify) return;
    const env = this.options.env ?? process.env;
    if (findOnPath('notify-send', env) === null) {
      if (!this.warnedNoNotifySend)
        this.options.log('--notify: notify-send is not on PATH; no desktop notices');
      this.warnedNoNotifySend = true;
      return;
    }
    const { title, body } = summary(event, state);
    const execa = await this.execa();
    if (execa === null) return;
    const result = await execa('notify-send', ['--app-name=ralph', title, body], {
      env,
      reject: false,
      stdin: 'ignore',
      timeout: NOTIFY_TIMEOUT_MS,
    });
    if (result.exitCode !== 0)
      this.options.log(`notify-send failed: ${result.stderr || result.shortMessage}`);
  }

  private async command(event: NoticeEvent, state: LoopState): Promise<void> {
    const command = this.options.onEnd;
    if (!command) return;
    const execa = await this.execa();
    if (execa === null) return;
    const result = await execa(command, {
      shell: true,
      cwd: state.taskDir,
      env: { ...(this.options.env ?? process.env), ...noticeEnv(event, state, this.options.sessionDir) },
      reject: false,
      stdin: 'ignore',
      all: true,
      timeout: NOTIFY_TIMEOUT_MS,
      maxBuffer: 64 * 1024,
    });
    const output =
      typeof result.all === 'string' && result.all !== '' ? `: ${result.all.slice(0, 2000)}` : '';
    const how = result.timedOut ? 'timed out' : `exit code ${result.exitCode ?? 'none'}`;
    this.options.log(`--on-end (${event}) ${how}${output}`);
  }
}
