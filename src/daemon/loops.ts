/**
 * The daemon's loops are the box's own: started like `ralph start` does (a detached runner that registers
 * itself), stopped through their runner, listed from the box's registry after reconciling it. The daemon keeps
 * no list of its own, so a loop started on the box by plain `ralph start` is one of them too.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { isRalphError, RalphError } from '../errors.js';
import { isDiskFull } from '../loop/disk-full.js';
import { RpcError } from '../protocol/errors.js';
import { launchDetached, prepareLoop, type StartOptions } from '../client/start.js';
import { stopLoop } from '../client/stop.js';
import {
  DEFAULT_SOCKET_TIMEOUT_MS,
  DEFAULT_START_GRACE_MS,
  isTerminal,
  probeUnixSocket,
  reconcile,
  Registry,
  type SessionRecord,
} from '../registry/index.js';
import { errorMessage } from '../errors.js';
import { dialUnix } from '../transport/unix.js';
import type { LoopExecutor, RunnerStream } from './executor.js';
import { markLost } from './lost.js';
import type { DaemonParamsOf, LoopSummary } from './methods.js';
import { runnerSpawner } from './systemd.js';
import { addLoopWorktree, checkBranchName, checkLoopWorktree, checkTaskPath } from './worktrees.js';

/** The most rows `list_loops` answers with. */
export const MAX_LISTED_LOOPS = 500;

export interface LoopManagerOptions {
  workspace: string;
  maxLoops: number;
  paths?: RalphPaths;
  env?: NodeJS.ProcessEnv;
  /** How long a started runner may take to answer (default 15 s). */
  readyTimeoutMs?: number;
  /** The PATH runners look agents up on (the daemon's, led by its agent install prefix). */
  agentPath?: string | undefined;
}

export interface AdoptReport {
  alive: SessionRecord[];
  ended: SessionRecord[];
  lost: SessionRecord[];
}

export class LoopManager implements LoopExecutor {
  readonly kind = 'process';
  readonly workspace: string;
  readonly maxLoops: number;
  readonly paths: RalphPaths;
  private readonly env: NodeJS.ProcessEnv;
  private readonly readyTimeoutMs: number;
  private readonly agentPath: string | undefined;
  /** Starts run one at a time, so two at once cannot both pass the `maxLoops` check. */
  private starting: Promise<unknown> = Promise.resolve();
  /**
   * Whether the daemon holds an open connection to the runner socket at `address` (its event journal's watch,
   * see watch.ts). Such a runner answers, so reconciling does not dial it again: without this, every
   * `list_loops` connected to every live runner, waking each one.
   */
  holdsConnection: (address: string) => boolean = () => false;

  constructor(options: LoopManagerOptions) {
    this.workspace = options.workspace;
    this.maxLoops = options.maxLoops;
    this.paths = options.paths ?? ralphPaths();
    this.env = options.env ?? process.env;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    this.agentPath = options.agentPath;
  }

  private withRegistry<T>(fn: (registry: Registry) => T): T {
    const registry = Registry.open(this.paths.registryFile);
    try {
      return fn(registry);
    } finally {
      registry.close();
    }
  }

  /**
   * Takes over the box's loops on daemon start: every row is reconciled (socket answers, pid, start time);
   * live runners stay as they are, ended ones get their record, and open rows nothing can vouch for become
   * `lost`. Never kills a runner.
   */
  async adopt(): Promise<AdoptReport> {
    const registry = Registry.open(this.paths.registryFile);
    try {
      const lost: SessionRecord[] = [];
      // A row whose runner never recorded its pid, past its start, with no socket answering: nothing can
      // vouch for it (a dead pid, by contrast, is a crash reconciling records).
      const now = Date.now();
      const unverifiable = registry
        .list({ all: true })
        .filter((s) => s.location === 'local' && !isTerminal(s.status) && s.pid === null)
        .filter((s) => s.status !== 'starting' || now - Date.parse(s.updatedAt) > DEFAULT_START_GRACE_MS);
      for (const session of unverifiable) {
        if (await probeUnixSocket(session.address, DEFAULT_SOCKET_TIMEOUT_MS)) continue;
        const marked = markLost(registry, session, 'the daemon found no runner to account for it');
        if (marked !== undefined) lost.push(marked);
      }
      const report = await reconcile(registry);
      return { alive: report.alive, ended: report.crashed, lost };
    } finally {
      registry.close();
    }
  }

  /** Every local loop (newest row per task), reconciled first. */
  async list(): Promise<LoopSummary[]> {
    const registry = Registry.open(this.paths.registryFile);
    try {
      // The pid and start-time checks still run for every row; only the socket probe is spared.
      await reconcile(registry, {
        probeSocket: (address, timeoutMs) =>
          this.holdsConnection(address) ? Promise.resolve(true) : probeUnixSocket(address, timeoutMs),
      });
      return registry
        .list()
        .filter((s) => s.location === 'local')
        .slice(0, MAX_LISTED_LOOPS)
        .map(toSummary);
    } finally {
      registry.close();
    }
  }

  /** Local loops not ended, as the registry says (no reconciling). */
  activeCount(): number {
    return this.withRegistry(
      (r) => r.list().filter((s) => s.location === 'local' && !isTerminal(s.status)).length,
    );
  }

  /** Branches of local loops not ended: pushes must not move them under a running loop. */
  ownedBranches(): Set<string> {
    return this.withRegistry((r) => {
      const live = r.list().filter((s) => s.location === 'local' && !isTerminal(s.status));
      return new Set(live.flatMap((s) => (s.branch === null ? [] : [s.branch])));
    });
  }

  /** The task of the live local loop working on `branch`, if any. */
  private branchOwner(branch: string): string | undefined {
    return this.withRegistry((r) => {
      const live = r.list().filter((s) => s.location === 'local' && !isTerminal(s.status));
      const ref = `refs/heads/${branch}`;
      return live.find((s) => s.branch === branch || s.branch === ref)?.task;
    });
  }

  /** A local row by registry id. */
  session(id: number): SessionRecord | undefined {
    return this.withRegistry((r) => r.get(id));
  }

  /** The live loop of a task, or LOOP_NOT_FOUND / LOOP_ENDED. */
  liveSession(task: string): SessionRecord {
    return this.withRegistry((registry) => {
      const active = registry.findActive(task);
      if (active !== undefined) return active;
      const last = registry.latest(task);
      if (last === undefined)
        throw RpcError.of('LOOP_NOT_FOUND', `no loop named ${task} on this box`, { task });
      throw RpcError.of('LOOP_ENDED', `loop ${task} has ended (${last.status})`, {
        task,
        status: last.status,
      });
    });
  }

  /**
   * Refuses a start that would be refused anyway (bad source, task folder, the loop limit, an unknown project
   * or branch, a branch in use) without changing anything: the daemon checks this before it installs an agent.
   * `start` checks again, since things may change meanwhile.
   */
  async check(params: DaemonParamsOf<'start_loop'>): Promise<void> {
    const fromBranch = checkStartSource(params);
    if (!fromBranch) resolveTaskDir(this.workspace, params.task_dir!);
    await this.reconcile();
    this.checkRoom();
    if (fromBranch) {
      const { branch } = checkLoopWorktree(this.workspace, {
        project: params.project!,
        branch: params.branch!,
        taskPath: params.task_path!,
      });
      this.checkBranchFree(branch);
    }
  }

  /** Marks rows of runners that are gone, so that they do not count against `maxLoops`. */
  private async reconcile(): Promise<void> {
    const registry = Registry.open(this.paths.registryFile);
    try {
      await reconcile(registry);
    } finally {
      registry.close();
    }
  }

  private checkRoom(): void {
    checkRoom(this.activeCount(), this.maxLoops);
  }

  private checkBranchFree(branch: string): void {
    const owner = this.branchOwner(branch);
    if (owner !== undefined) {
      throw RpcError.of('BRANCH_IN_USE', `branch ${branch} belongs to loop ${owner}, which has not ended`, {
        branch,
        task: owner,
      });
    }
  }

  async start(params: DaemonParamsOf<'start_loop'>): Promise<SessionRecord> {
    const run = this.starting.then(() => this.startNow(params));
    this.starting = run.catch(() => undefined);
    return run;
  }

  private async startNow(params: DaemonParamsOf<'start_loop'>): Promise<SessionRecord> {
    const fromBranch = checkStartSource(params);
    const taskDir = fromBranch ? null : resolveTaskDir(this.workspace, params.task_dir!);
    await this.reconcile();
    this.checkRoom();
    let where: { taskDir: string; branch?: string; worktree?: string };
    if (taskDir !== null) where = { taskDir };
    else {
      const branch = checkBranchName(params.branch!);
      this.checkBranchFree(branch);
      const task = params.name ?? taskNameOf(params.task_path!, params.project!);
      where = addLoopWorktree(this.workspace, {
        project: params.project!,
        branch,
        taskPath: params.task_path!,
        task,
      });
    }
    const options: StartOptions = {
      ...where,
      name: params.name ?? (taskDir === null ? taskNameOf(params.task_path!, params.project!) : undefined),
      agent: params.agent ?? 'claude',
      agentCommand: params.agent_command,
      maxIterations: params.max_iterations,
      readyTimeoutMs: this.readyTimeoutMs,
      ...(this.agentPath === undefined ? {} : { env: { PATH: this.agentPath } }),
    };
    try {
      const prepared = await prepareLoop(options, this.paths);
      return await launchDetached(prepared, this.paths, this.readyTimeoutMs, runnerSpawner(this.env));
    } catch (err) {
      throw startError(err);
    }
  }

  /** The runner socket of the live loop of `task`. */
  async dial(task: string): Promise<RunnerStream> {
    const session = this.liveSession(task);
    try {
      const stream = await dialUnix(session.address, { timeoutMs: 3000 });
      return { stream, loopId: session.id, status: session.status };
    } catch (err) {
      throw RpcError.of('LOOP_NOT_FOUND', `loop ${task} does not answer: ${errorMessage(err)}`, { task });
    }
  }

  /** Asks the loop of `task` to stop and waits (up to 15 s) until it has ended. */
  async stop(task: string, force: boolean): Promise<SessionRecord> {
    const session = this.withRegistry((r) => r.latest(task));
    if (session === undefined || session.location !== 'local') {
      throw RpcError.of('LOOP_NOT_FOUND', `no loop named ${task} on this box`, { task });
    }
    if (isTerminal(session.status)) return session;
    try {
      return await stopLoop(task, { force, waitMs: 15_000 }, this.paths);
    } catch (err) {
      if (isRalphError(err, 'TASK_NOT_FOUND') || isRalphError(err, 'NOT_RUNNING')) {
        throw RpcError.of('LOOP_NOT_FOUND', err.message, { task });
      }
      if (isRalphError(err, 'LOOP_ENDED')) return this.withRegistry((r) => r.latest(task) ?? session);
      throw err instanceof RalphError ? RpcError.of('INTERNAL_ERROR', err.message) : err;
    }
  }
}

/** MAX_LOOPS_EXCEEDED when `active` loops leave no room under `maxLoops`. */
export function checkRoom(active: number, maxLoops: number): void {
  if (active >= maxLoops) {
    throw RpcError.of(
      'MAX_LOOPS_EXCEEDED',
      `${active} loops are running, the most this daemon allows (maxLoops ${maxLoops})`,
      { max_loops: maxLoops, active },
    );
  }
}

/**
 * True when `start_loop` names a pushed branch (`project`, `branch`, `task_path`), false for a `task_dir`;
 * anything in between is INVALID_PARAMS.
 */
export function checkStartSource(params: DaemonParamsOf<'start_loop'>): boolean {
  const git = [params.project, params.branch, params.task_path];
  const given = git.filter((v) => v !== undefined).length;
  const refuse = (why: string): RpcError =>
    RpcError.of('INVALID_PARAMS', `invalid params for start_loop: ${why}`, {
      issues: [{ path: 'task_dir', message: why }],
    });
  if (params.task_dir !== undefined && given > 0) {
    throw refuse('give either task_dir, or project, branch and task_path, not both');
  }
  if (params.task_dir !== undefined) return false;
  if (given < 3) throw refuse('give task_dir, or all of project, branch and task_path');
  return true;
}

/** The task name of a loop on a pushed branch: its task folder's name (the project's for the top). */
export function taskNameOf(taskPath: string, project: string): string {
  const parts = checkTaskPath(taskPath).split('/');
  const last = parts[parts.length - 1]!;
  return last === '.' ? project : last;
}

/**
 * The real path of a task folder given to `start_loop`, which must lie inside the workspace: relative to it,
 * or absolute inside it. `..` anywhere is refused outright, and a symlink that leads out is found by
 * resolving the real path. Every refusal is INVALID_PARAMS (or INVALID_TASK for a folder that is not there).
 */
export function resolveTaskDir(workspace: string, taskDir: string): string {
  const refuse = (why: string): RpcError =>
    RpcError.of('INVALID_PARAMS', `invalid params for start_loop: task_dir: ${why}`, {
      issues: [{ path: 'task_dir', message: why }],
    });
  if (taskDir.includes('\0')) throw refuse('must not contain NUL bytes');
  if (taskDir.split(/[\\/]/).includes('..'))
    throw refuse(`must not contain '..' (${JSON.stringify(taskDir)})`);
  const given = isAbsolute(taskDir) ? taskDir : join(workspace, taskDir);
  if (!inside(workspace, given)) throw refuse(`${given} is outside the workspace ${workspace}`);
  let real: string;
  try {
    real = realpathSync(given);
  } catch {
    throw RpcError.of('INVALID_TASK', `task folder ${given} does not exist`);
  }
  if (!inside(workspace, real)) {
    throw refuse(`${given} leads outside the workspace ${workspace} (to ${real}, through a symlink)`);
  }
  if (!statSync(real).isDirectory()) throw RpcError.of('INVALID_TASK', `${given} is not a folder`);
  return real;
}

/** True when `path` lies strictly inside `root` (both absolute, `root` a real path). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** A failed start as the JSON-RPC error a client can act on. */
export function startError(err: unknown): unknown {
  if (err instanceof RpcError) return err;
  if (isDiskFull(err)) return RpcError.of('DISK_FULL', (err as Error).message);
  if (!(err instanceof RalphError)) return err;
  switch (err.code) {
    case 'UNKNOWN_AGENT':
    case 'AGENT_MISSING':
      return RpcError.of('AGENT_NOT_FOUND', err.message, err.data ?? undefined);
    case 'TASK_ACTIVE':
      return RpcError.of('TASK_EXISTS', err.message, err.data ?? undefined);
    case 'INVALID_TASK':
    case 'INVALID_PRD':
      return RpcError.of('INVALID_TASK', err.message);
    case 'INVALID_TASK_NAME':
    case 'INVALID_OPTION':
    case 'INVALID_AGENT_COMMAND':
    case 'SOCKET_PATH_TOO_LONG':
      return RpcError.of('INVALID_PARAMS', err.message);
    default:
      return RpcError.of('INTERNAL_ERROR', `loop did not start: ${err.message}`);
  }
}

export function toSummary(s: SessionRecord): LoopSummary {
  return {
    task: s.task,
    loop_id: String(s.id),
    status: s.status,
    iteration: s.iteration,
    max_iterations: s.maxIterations,
    agent: s.agent,
    task_dir: s.taskDir,
    branch: s.branch,
    current_story: s.currentStory,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    exit_reason: s.exitReason,
    updated_at: s.updatedAt,
  };
}
