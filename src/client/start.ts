/** `ralph start`: registers a loop and launches its runner, detached, then waits until it answers. */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  assertValidSocketPath,
  loopSocketPath,
  ralphPaths,
  sessionDir,
  type RalphPaths,
} from '../config/paths.js';
import { ensurePrivateDir } from '../config/paths.js';
import { readStartFailure } from '../loop/start-failure.js';
import { RalphError, ExitCode, errorMessage } from '../errors.js';
import { getAgent, resolveAgent } from '../loop/agents/index.js';
import { checkTimeout } from '../loop/limits.js';
import { checkOutputOptions } from '../loop/output-options.js';
import { loadPrd } from '../loop/prd.js';
import { validateTaskDir } from '../loop/prompt.js';
import { writeLaunchFile, type RunnerLaunch } from '../loop/runner-main.js';
import { taskNameFromDir, validateTaskName } from '../loop/task-name.js';
import { ENDED_STATUSES, LOOP_DEFAULTS, type LoopConfig } from '../loop/types.js';
import { isTerminal, Registry, type SessionRecord } from '../registry/index.js';
import { connectSession } from './connect.js';

/** Loop settings passed through to the runner unchanged (see `LoopConfig`). */
type GuardSettings = Pick<
  LoopConfig,
  'stallAfter' | 'verify' | 'verifyTimeoutMs' | 'maxDurationMs' | 'notify' | 'onEnd'
>;

export interface StartOptions extends GuardSettings {
  taskDir: string;
  name?: string | undefined;
  agent: string;
  agentCommand?: string | undefined;
  model?: string | undefined;
  cwd?: string | undefined;
  maxIterations?: number | undefined;
  iterationTimeoutMs?: number | undefined;
  idleTimeoutMs?: number | undefined;
  maxConsecutiveFailures?: number | undefined;
  trustPromise?: boolean | undefined;
  cols?: number | undefined;
  rows?: number | undefined;
  env?: Record<string, string> | undefined;
  /** `text`, or `json` (the default): the agent's machine-readable mode where it has one. */
  output?: string | undefined;
  /** For `custom`: the stream format its command prints (claude, codex). */
  streamFormat?: string | undefined;
  maxCostUsd?: number | undefined;
  maxTokens?: number | undefined;
  /** The branch the loop works on (default: prd.json's `branchName`). */
  branch?: string | undefined;
  /** The git worktree the daemon made for this loop, recorded in its registry row. */
  worktree?: string | undefined;
  /** How long to wait for a detached runner to answer. */
  readyTimeoutMs?: number | undefined;
  /**
   * Look the agent up here first (default true). False when the loop runs elsewhere (a pod), whose image
   * carries its agents: the agent's name is still checked.
   */
  checkAgent?: boolean | undefined;
}

export interface PreparedLoop {
  session: SessionRecord;
  launch: RunnerLaunch;
  launchFile: string;
}

/** Validates everything and writes the registry row; nothing is started yet. */
export async function prepareLoop(
  options: StartOptions,
  paths: RalphPaths = ralphPaths(),
): Promise<PreparedLoop> {
  const files = validateTaskDir(options.taskDir);
  const task = options.name ? validateTaskName(options.name) : taskNameFromDir(files.taskDir);
  const prd = loadPrd(files.prdFile);
  // The agent is looked up as the runner will run it: with the loop's own environment over this one.
  if (options.checkAgent === false) getAgent(options.agent);
  else
    await resolveAgent(options.agent, {
      ...(options.agentCommand ? { template: options.agentCommand } : {}),
      ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
    });
  const socketPath = assertValidSocketPath(loopSocketPath(paths, task));
  const config: LoopConfig = {
    task,
    taskDir: files.taskDir,
    cwd: options.cwd ?? files.taskDir,
    agent: options.agent,
    agentCommand: options.agentCommand,
    model: options.model,
    maxIterations: options.maxIterations ?? LOOP_DEFAULTS.maxIterations,
    iterationTimeoutMs: checkTimeout(
      options.iterationTimeoutMs ?? LOOP_DEFAULTS.iterationTimeoutMs,
      'iterationTimeoutMs',
    ),
    idleTimeoutMs: checkTimeout(options.idleTimeoutMs ?? LOOP_DEFAULTS.idleTimeoutMs, 'idleTimeoutMs'),
    maxConsecutiveFailures: options.maxConsecutiveFailures ?? LOOP_DEFAULTS.maxConsecutiveFailures,
    trustPromise: options.trustPromise ?? LOOP_DEFAULTS.trustPromise,
    stopGraceMs: LOOP_DEFAULTS.stopGraceMs,
    cols: options.cols ?? LOOP_DEFAULTS.cols,
    rows: options.rows ?? LOOP_DEFAULTS.rows,
    env: options.env,
    stallAfter: options.stallAfter,
    verify: options.verify,
    verifyTimeoutMs: options.verifyTimeoutMs,
    maxDurationMs: options.maxDurationMs,
    notify: options.notify,
    onEnd: options.onEnd,
    ...checkOutputOptions(options),
  };
  // Opening the registry first turns a data folder that cannot be used (a file in the way) into one clear error.
  const registry = Registry.open(paths.registryFile);
  try {
    ensurePrivateDir(paths.dataDir);
    ensurePrivateDir(paths.runDir);
    const session = registry.create({
      task,
      location: 'local',
      transport: 'unix',
      address: socketPath,
      agent: config.agent,
      taskDir: config.taskDir,
      maxIterations: config.maxIterations,
      branch: options.branch ?? prd.branchName,
      ...(options.worktree === undefined ? {} : { worktree: options.worktree }),
      status: 'starting',
    });
    const dir = createSessionDir(registry, paths, session);
    const launch: RunnerLaunch = {
      sessionId: session.id,
      socketPath,
      dir,
      config,
      registryFile: paths.registryFile,
    };
    return { session, launch, launchFile: writeLaunchFile(launch) };
  } finally {
    registry.close();
  }
}

/**
 * Creates the session's own folder; one that exists already belongs to another session, and the new row is
 * ended `failed` rather than mixing two sessions' logs.
 */
function createSessionDir(registry: Registry, paths: RalphPaths, session: SessionRecord): string {
  ensurePrivateDir(paths.loopsDir);
  const dir = sessionDir(paths, session);
  try {
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'EEXIST'
        ? `session folder ${dir} already exists`
        : `cannot create session folder ${dir}: ${errorMessage(err)}`;
    registry.update(session.id, { status: 'failed', exitReason: why });
    throw new RalphError('SESSION_DIR_IN_USE', `loop ${session.task} did not start: ${why}`, {
      exitCode: ExitCode.conflict,
      cause: err,
    });
  }
}

/**
 * The runner's entry: the bundled one that `npm run build` writes beside the CLI (a runner loads one module
 * rather than hundreds, which is memory every loop keeps), else the one tsc wrote.
 */
const BUNDLED_RUNNER = fileURLToPath(new URL('../../cli/runner.js', import.meta.url));
export const RUNNER_ENTRY = existsSync(BUNDLED_RUNNER)
  ? BUNDLED_RUNNER
  : fileURLToPath(new URL('../loop/runner-entry.js', import.meta.url));

/** What the launcher knows of a runner it spawned: why it is gone (null while it may still run). */
export interface RunnerWatch {
  exited: string | null;
}

/**
 * Spawns the runner of a launch file, logging to `logFile`, and returns a watch on it. The default starts it
 * detached from this process; the daemon may start it in a systemd unit instead.
 */
export type RunnerSpawner = (prepared: PreparedLoop, logFile: string) => RunnerWatch;

/** Starts the runner as a detached child (its own session), writing to the log file itself. */
export function spawnDetachedRunner({ launchFile }: PreparedLoop, logFile: string): RunnerWatch {
  const runner: RunnerWatch = { exited: null };
  // The runner writes to the log file itself: a pipe through this process would keep `ralph start` alive
  // until the loop ends, and break the runner's stdout once `ralph start` exits.
  const logFd = openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [RUNNER_ENTRY, launchFile], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  child.once('error', (err) => (runner.exited = `spawn failed: ${err.message}`));
  child.once('exit', (code, signal) => {
    runner.exited = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  return runner;
}

/**
 * Starts a detached runner for a prepared loop and waits until its socket answers, or until the registry says
 * the loop has already ended (a task whose stories all pass ends before its socket is seen). Returns the
 * registry entry: live, or with the terminal status and reason the loop ended with. Throws START_FAILED only
 * when the runner died without ending the loop.
 */
export async function launchDetached(
  prepared: PreparedLoop,
  paths: RalphPaths = ralphPaths(),
  readyTimeoutMs = 15_000,
  spawnRunner: RunnerSpawner = spawnDetachedRunner,
): Promise<SessionRecord> {
  const { launch } = prepared;
  const logFile = `${launch.dir}/runner.log`;
  const runner = spawnRunner(prepared, logFile);
  const deadline = Date.now() + readyTimeoutMs;
  const registry = Registry.open(paths.registryFile);
  try {
    for (;;) {
      // Read before looking at the runner: a runner that ended the loop has written its row before exiting.
      const exited = runner.exited;
      const session = registry.get(prepared.session.id);
      if (session && isTerminal(session.status)) {
        // A runner that could not start the loop (its socket path taken, say) left the reason as its own error.
        const failure = readStartFailure(launch.dir);
        if (failure) throw failure;
        return session;
      }
      if (session && session.status !== 'starting') {
        // Not answering yet is the normal state while the runner starts; the loop retries until the deadline.
        const client = await connectSession(session, { timeoutMs: 1000 }).catch(() => null);
        if (client) {
          // The kernel accepts a connection before the runner looks at it: only an answer shows the runner at
          // work, and by then a loop that ended at once (every story passing) has said so.
          const answer = await client.request('get_status', undefined, { timeoutMs: 1000 }).catch(() => null);
          client.close();
          const now = registry.get(prepared.session.id) ?? session;
          if (isTerminal(now.status)) return now;
          // An ended loop whose row is not written yet: the next pass reads it.
          if (answer !== null && !ENDED_STATUSES.has(answer.status)) return now;
        }
      }
      if (exited !== null || Date.now() > deadline) {
        const failure = exited === null ? null : readStartFailure(launch.dir);
        const why =
          failure?.message ??
          (exited
            ? `the runner exited (${exited})`
            : `the runner did not answer within ${readyTimeoutMs} ms`);
        if (session && session.status === 'starting') {
          registry.update(session.id, { status: 'crashed', exitReason: why });
        }
        if (failure) throw failure;
        throw new RalphError('START_FAILED', `loop ${launch.config.task} did not start: ${why}`, {
          exitCode: ExitCode.failure,
          hint: tail(logFile),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    registry.close();
  }
}

function tail(file: string): string {
  if (!existsSync(file)) return 'no runner log was written';
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(-5);
  return `runner log (${file}):\n${lines.join('\n')}`;
}

export async function startLoop(
  options: StartOptions,
  paths: RalphPaths = ralphPaths(),
): Promise<SessionRecord> {
  const prepared = await prepareLoop(options, paths);
  try {
    return await launchDetached(prepared, paths, options.readyTimeoutMs);
  } catch (err) {
    throw err instanceof RalphError ? err : new RalphError('START_FAILED', errorMessage(err), { cause: err });
  }
}
