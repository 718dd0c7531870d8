/**
 * The daemon's loops as Jobs on a Kubernetes cluster. A start prepares the loop as `ralph start` would, but in
 * a staging folder laid out like the loop's data volume (the task folder under `task/`, the runner's home under
 * `home/`), records it, creates its Job, and once the pod runs streams the files in through the API server
 * (see deliver.ts). Statuses come from watching the daemon's labelled Jobs and pods; every change goes to the
 * event journal. A restarted daemon re-adopts its Jobs by their labels; labelled Jobs it does not know are
 * reported, never deleted unless asked. Clients reach a runner through exec in its pod.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { prepareLoop } from '../../client/start.js';
import { ralphPaths } from '../../config/paths.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../protocol/index.js';
import { RpcClient, RpcError } from '../../protocol/index.js';
import { isTerminal, type SessionStatus } from '../../registry/index.js';
import type { LoopExecutor, RunnerStream, StartedLoop } from '../executor.js';
import {
  MAX_LISTED_LOOPS,
  checkRoom as checkLoopRoom,
  checkStartSource,
  resolveTaskDir,
  startError,
  taskNameOf,
} from '../loops.js';
import { REPOS_DIR } from '../git.js';
import { checkBranchName, checkLoopWorktree, gitEnv, gitIn } from '../worktrees.js';
import type { DaemonParamsOf, LoopSummary } from '../methods.js';
import type { EventJournal } from '../trust-hooks.js';
import { packEntries, packSize, UNPACKER, writePack, type PackEntry, type PackSource } from './deliver.js';
import { dialPodSocket, execStream } from './exec-stream.js';
import { KubernetesLoops, type ClusterLoop, type PodSummary } from './jobs.js';
import { parseTerminationReport } from './status.js';
import {
  DATA_MOUNT,
  DELIVERED_MARKER,
  END_FILE,
  HOLD_MARKER,
  RUNNER_CONTAINER,
  type KubernetesExecutorConfig,
} from './spec.js';
import { ClusterLoopStore, type ClusterLoopRow } from './store.js';

/** How many failed execs a delivery tries before it gives up. */
const DELIVERY_ATTEMPTS = 6;
/** How many failed connections following a loop tries before it leaves the loop to the cluster's word. */
const FOLLOW_ATTEMPTS = 8;

/** How long a call to a loop still starting waits for its runner (under a client's 30 s request timeout). */
const DIAL_WAIT_MS = 20_000;

/** How a loop ended, as its runner said. */
interface LoopEnd {
  status: SessionStatus;
  reason: string | null;
  iteration: number | null;
}

/** A pushed branch a loop starts from. */
interface PushedBranch {
  project: string;
  branch: string;
  taskPath: string;
  /** The branch's commit when the loop started: the bundle brought home holds what came after it. */
  commit: string;
}

/** Prints the file named by its argument, or nothing when it is not there. */
const READ_END =
  "try{process.stdout.write(require('fs').readFileSync(process.argv[1]))}catch(e){if(e.code!=='ENOENT')throw e}";

/** Writes the file named by its argument: the runner, holding after its loop's end, may exit. */
const RELEASE = "require('fs').writeFileSync(process.argv[1],'')";

/**
 * Writes to stdout a git bundle of `<repo>`'s branch `<branch>` with what came after `<basis>` (all of it when
 * basis is empty), or nothing when there is nothing new. git writes the bundle to a file in /tmp first.
 */
const BUNDLER = [
  "const {spawnSync}=require('child_process'),fs=require('fs');",
  'const [repo,branch,basis]=process.argv.slice(1);',
  "const file='/tmp/ralph-collect-'+process.pid+'.bundle';",
  "const refs=['refs/heads/'+branch];if(basis)refs.push('^'+basis);",
  "const r=spawnSync('git',['-C',repo,'bundle','create','--quiet',file,...refs],{encoding:'utf8'});",
  'if(r.status!==0){if(/empty bundle/i.test(r.stderr))process.exit(0);process.stderr.write(r.stderr||String(r.error));process.exit(5)}',
  "const s=fs.createReadStream(file);s.pipe(process.stdout);s.on('end',()=>fs.rmSync(file,{force:true}));",
].join('');

export interface KubernetesExecutorOptions {
  workspace: string;
  maxLoops: number;
  /** The daemon's name on the cluster (its Jobs' label): its service name. */
  daemon: string;
  config: KubernetesExecutorConfig;
  kubeConfig: KubeConfig;
  /** The executor's record of its loops. */
  storeFile: string;
  journal: EventJournal;
  logger?: Logger;
  /** How long a start waits for its pod to run before giving up on delivering its files (default 10 min). */
  deliveryTimeoutMs?: number;
}

export interface KubernetesAdoptReport {
  adopted: string[];
  ended: string[];
  lost: string[];
  /** Labelled Jobs of this daemon it has no record of (`ralph daemon orphans` lists and cleans them). */
  orphans: string[];
}

export class KubernetesExecutor implements LoopExecutor {
  readonly kind = 'kubernetes';
  readonly workspace: string;
  readonly maxLoops: number;
  readonly loops: KubernetesLoops;
  private readonly store: ClusterLoopStore;
  private readonly journal: EventJournal;
  private readonly log: Logger;
  private readonly options: KubernetesExecutorOptions;
  private stopWatch: (() => void) | null = null;
  private starting: Promise<unknown> = Promise.resolve();
  private readonly deliveries = new Set<Promise<void>>();
  /** What the cluster last said of each loop (from the watch), by id: where its pod is, without asking. */
  private readonly seen = new Map<number, ClusterLoop>();
  /** Loops followed through their runner's socket, by id. */
  private readonly following = new Map<number, Promise<void>>();
  /** Aborted on close: deliveries waiting for their pods stop. */
  private readonly closing = new AbortController();

  constructor(options: KubernetesExecutorOptions) {
    this.options = options;
    this.workspace = options.workspace;
    this.maxLoops = options.maxLoops;
    this.loops = new KubernetesLoops(options.kubeConfig, options.config, options.daemon);
    this.store = ClusterLoopStore.open(options.storeFile);
    this.journal = options.journal;
    this.log = options.logger ?? (() => undefined);
  }

  /**
   * Takes over this daemon's Jobs: each open loop with a Job gets the cluster's status, an open loop whose Job
   * is gone is `lost`, and Jobs with no record are reported as orphans. Then watches Jobs and pods.
   */
  async adopt(): Promise<KubernetesAdoptReport> {
    // Every loop on record is known (an ended one's Job stays until its TTL); only open ones are taken over.
    const open = new Set(this.store.open().map((r) => r.id));
    const report = await this.loops.adopt(new Set(this.store.all().map((r) => r.id)));
    const out: KubernetesAdoptReport = { adopted: [], ended: [], lost: [], orphans: [] };
    for (const loop of report.adopted) {
      if (!open.has(loop.loopId)) continue;
      const row = this.apply(loop.loopId, loop);
      if (row === undefined) continue;
      (isTerminal(row.status) ? out.ended : out.adopted).push(row.task);
    }
    for (const id of report.missing) {
      if (!open.has(id)) continue;
      const row = this.apply(id, undefined);
      if (row !== undefined) out.lost.push(row.task);
    }
    out.orphans = report.orphans.map((o) => `${o.name} (task ${o.task}, loop ${o.loopId})`);
    // Runners that had their files before the restart are followed again (their end brings commits home).
    for (const row of this.store.open()) if (row.delivered) this.follow(row.id);
    this.stopWatch = await this.loops.watch(
      (id, loop) => void this.apply(id, loop),
      (err) => this.log('kubernetes watch', { error: err.message }),
    );
    return out;
  }

  /**
   * Records what the cluster (or, with `fromRunner`, the runner itself) says of a loop (undefined: its Job is
   * gone) and journals the change. While the pod runs, the runner's word on its status (interactive, paused,
   * waiting...) stands over the cluster's plain `running`.
   */
  private apply(id: number, loop: ClusterLoop | undefined, fromRunner = false): ClusterLoopRow | undefined {
    if (loop === undefined) this.seen.delete(id);
    else this.seen.set(id, loop);
    const row = this.store.get(id);
    if (row === undefined || isTerminal(row.status)) return row;
    if (loop === undefined) {
      const lost = this.store.update(id, {
        status: 'lost',
        reason: 'its Job is gone and the daemon never saw how the loop ended',
      });
      if (lost !== undefined) this.journal.append('loop_lost', lost.task, endData(lost));
      return lost;
    }
    const { status, reason } = loop.state;
    if (!fromRunner && status === 'running' && row.status !== 'starting') return row;
    if (status === row.status && reason === row.reason) return row;
    const next = this.store.update(id, { status, reason, job: loop.name });
    if (next === undefined) return undefined;
    if (status !== row.status) {
      this.journal.append('state_change', row.task, {
        task: row.task,
        loop_id: String(id),
        from: row.status,
        to: status,
      });
    }
    if (isTerminal(status)) {
      this.journal.append(status === 'completed' ? 'loop_completed' : 'loop_failed', row.task, endData(next));
    }
    return next;
  }

  /** The loop's pod as the watch last saw it, else as the API server says. */
  private async podOf(id: number): Promise<PodSummary | undefined> {
    const pod = this.seen.get(id)?.pod;
    if (pod !== undefined && pod !== null) return pod;
    return this.loops.podOf(id).catch(() => undefined);
  }

  activeCount(): number {
    return this.store.open().length;
  }

  /** Branches of live loops: their commits come home when they end, so pushes must not move them meanwhile. */
  ownedBranches(): Set<string> {
    return new Set(this.store.open().flatMap((r) => (r.branch === null ? [] : [r.branch])));
  }

  list(): Promise<LoopSummary[]> {
    return Promise.resolve(this.store.latestPerTask(MAX_LISTED_LOOPS).map(summaryOf));
  }

  check(params: DaemonParamsOf<'start_loop'>): Promise<void> {
    if (checkStartSource(params)) {
      const { branch } = checkLoopWorktree(this.workspace, {
        project: params.project!,
        branch: params.branch!,
        taskPath: params.task_path!,
      });
      this.checkBranchFree(branch);
    } else resolveTaskDir(this.workspace, params.task_dir!);
    this.checkRoom();
    return Promise.resolve();
  }

  private checkBranchFree(branch: string): void {
    const owner = this.store.open().find((r) => r.branch === branch);
    if (owner !== undefined) {
      throw RpcError.of(
        'BRANCH_IN_USE',
        `branch ${branch} belongs to loop ${owner.task}, which has not ended`,
        {
          branch,
          task: owner.task,
        },
      );
    }
  }

  private checkRoom(): void {
    checkLoopRoom(this.activeCount(), this.maxLoops);
  }

  start(params: DaemonParamsOf<'start_loop'>): Promise<StartedLoop> {
    const run = this.starting.then(() => this.startNow(params));
    this.starting = run.catch(() => undefined);
    return run;
  }

  private async startNow(params: DaemonParamsOf<'start_loop'>): Promise<StartedLoop> {
    const fromBranch = checkStartSource(params);
    const taskDir = fromBranch ? null : resolveTaskDir(this.workspace, params.task_dir!);
    this.checkRoom();
    const task =
      params.name ?? (taskDir === null ? taskNameOf(params.task_path!, params.project!) : basename(taskDir));
    const active = this.store.latest(task);
    if (active !== undefined && !isTerminal(active.status)) {
      throw RpcError.of('TASK_EXISTS', `loop ${task} is already ${active.status}`, { task });
    }
    const stage = mkdtempSync(join(tmpdir(), 'ralph-k8s-'));
    let handedOver = false;
    try {
      const home = join(stage, 'home');
      let source: { taskDir: string; sources: PackSource[]; branch?: string; git?: PushedBranch };
      if (taskDir !== null) source = { taskDir, sources: [{ from: taskDir, to: 'task' }] };
      else {
        const git = this.cloneBranch(params, stage);
        this.checkBranchFree(git.branch);
        source = {
          taskDir: join(stage, 'repo', git.taskPath),
          sources: [{ from: join(stage, 'repo'), to: 'repo' }],
          branch: git.branch,
          git,
        };
      }
      let prepared;
      try {
        prepared = await prepareLoop(
          {
            taskDir: source.taskDir,
            name: task,
            agent: params.agent ?? 'claude',
            agentCommand: params.agent_command,
            maxIterations: params.max_iterations,
            checkAgent: false,
            ...(source.branch === undefined ? {} : { branch: source.branch }),
          },
          ralphPaths({ RALPH_HOME: home }),
        );
      } catch (err) {
        throw startError(err);
      }
      const entries = packEntries([...source.sources, { from: home, to: 'home' }]);
      const limit = this.options.config.maxTaskBytes;
      const size = packSize(entries);
      if (size > limit) {
        throw RpcError.of(
          'INVALID_TASK',
          `the loop's files (${source.git === undefined ? `task folder ${taskDir}` : 'the branch checked out'}) ` +
            `hold ${mib(size)} MiB, over the ${mib(limit)} MiB a loop's files may be (executor.maxTaskBytes)`,
        );
      }
      const inPod = podPaths(
        taskDir === null
          ? [[stage, DATA_MOUNT]]
          : [
              [taskDir, `${DATA_MOUNT}/task`],
              [stage, DATA_MOUNT],
            ],
      );
      const launch = inPod(prepared.launch);
      const row = this.store.create({
        task,
        maxIterations: prepared.session.maxIterations,
        agent: prepared.session.agent,
        taskDir: taskDir ?? launch.config.taskDir,
        branch: prepared.session.branch,
        socket: launch.socketPath,
        ...(source.git === undefined
          ? {}
          : { project: source.git.project, repo: `${DATA_MOUNT}/repo`, basis: source.git.commit }),
      });
      let started: ClusterLoop;
      try {
        started = await this.loops.start({
          daemon: this.options.daemon,
          loopId: row.id,
          task,
          launch: JSON.stringify(launch),
          maxDurationMs: launch.config.maxDurationMs,
        });
      } catch (err) {
        const why = errorMessage(err);
        this.store.update(row.id, { status: 'failed', reason: why });
        throw RpcError.of('INTERNAL_ERROR', `loop ${task} did not start: ${why}`);
      }
      const recorded = this.store.update(row.id, { job: started.name }) ?? row;
      this.journal.append('loop_started', task, {
        task,
        loop_id: String(row.id),
        status: recorded.status,
        task_dir: recorded.taskDir,
        agent: recorded.agent,
      });
      handedOver = true;
      const delivery = this.deliver(row.id, entries, stage)
        .then((delivered) => {
          if (delivered) this.follow(row.id);
        })
        .finally(() => {
          rmSync(stage, { recursive: true, force: true });
          this.deliveries.delete(delivery);
        });
      this.deliveries.add(delivery);
      return {
        id: row.id,
        task,
        status: recorded.status,
        taskDir: recorded.taskDir,
        branch: recorded.branch,
        worktree: null,
      };
    } finally {
      if (!handedOver) rmSync(stage, { recursive: true, force: true });
    }
  }

  /** A clone of the pushed branch (and its history) in `<stage>/repo`, with no remote: the pod's copy stands alone. */
  private cloneBranch(params: DaemonParamsOf<'start_loop'>, stage: string): PushedBranch {
    const checked = checkLoopWorktree(this.workspace, {
      project: params.project!,
      branch: checkBranchName(params.branch!),
      taskPath: params.task_path!,
    });
    const commit = String(
      gitIn('git', checked.repo, ['rev-parse', `refs/heads/${checked.branch}`]).stdout,
    ).trim();
    const dest = join(stage, 'repo');
    const run = (args: string[]): void => {
      const r = spawnSync('git', args, { env: gitEnv(), encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) {
        const said = `${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
        if (/no space left/i.test(said)) throw RpcError.of('DISK_FULL', `git clone: ${said}`);
        throw RpcError.of(
          'GIT_ERROR',
          `git ${args[0]} of ${checked.branch} failed: ${said || r.error?.message}`,
        );
      }
    };
    // Through a bundle rather than a clone of the repository's path: that would run git-upload-pack through a
    // shell, which a daemon in its image (no shell) does not have.
    const bundle = join(stage, 'branch.bundle');
    run(['--git-dir', checked.repo, 'bundle', 'create', '--quiet', bundle, `refs/heads/${checked.branch}`]);
    run(['clone', '--quiet', '--branch', checked.branch, bundle, dest]);
    run(['-C', dest, 'remote', 'remove', 'origin']);
    rmSync(bundle, { force: true });
    const taskDir = join(dest, checked.taskPath);
    let real: string;
    try {
      real = realpathSync(taskDir);
    } catch {
      throw RpcError.of('INVALID_TASK', `branch ${checked.branch} has no folder ${checked.taskPath}`);
    }
    const realDest = realpathSync(dest);
    if (real !== realDest && !real.startsWith(`${realDest}/`)) {
      throw RpcError.of(
        'INVALID_PARAMS',
        `invalid params for start_loop: task_path: ${checked.taskPath} leads out of the repository`,
      );
    }
    return {
      project: params.project!,
      branch: checked.branch,
      taskPath: checked.taskPath,
      commit,
    };
  }

  /**
   * Waits for the loop's pod to run, then streams its files in; a failed exec is tried again, less and less
   * often, a few times. A failure is logged: the runner in the pod, with no files, ends the loop itself.
   */
  private async deliver(id: number, entries: PackEntry[], stage: string): Promise<boolean> {
    const until = Date.now() + (this.options.deliveryTimeoutMs ?? 10 * 60_000);
    let lastError = 'its pod did not run';
    let failures = 0;
    const signal = this.closing.signal;
    try {
      while (!signal.aborted && Date.now() < until && failures < DELIVERY_ATTEMPTS) {
        const row = this.store.get(id);
        if (row === undefined || isTerminal(row.status)) return false;
        const pod = await this.podOf(id);
        let wait = 1000;
        if (pod?.running === true) {
          try {
            const answer = await this.unpack(pod.name, entries);
            this.log('loop files delivered', { task: row.task, pod: pod.name, answer });
            this.store.markDelivered(id);
            return true;
          } catch (err) {
            lastError = errorMessage(err);
            failures += 1;
            wait = Math.min(30_000, 1000 * 2 ** failures);
          }
        }
        await sleep(wait, undefined, { signal });
      }
    } catch (err) {
      if (!signal.aborted) lastError = errorMessage(err);
    }
    if (!signal.aborted) this.log('cannot deliver loop files', { loop: id, stage, error: lastError });
    return false;
  }

  /**
   * Follows a loop whose runner runs in its pod (one connection through exec, `state_change` only) until the
   * loop ends; then takes its commits home and lets the runner exit (see finish). A dropped connection is
   * dialled again while the pod runs.
   */
  private follow(id: number): void {
    if (this.following.has(id) || this.closing.signal.aborted) return;
    const signal = this.closing.signal;
    const run = async (): Promise<void> => {
      let failures = 0;
      while (!signal.aborted && failures < FOLLOW_ATTEMPTS) {
        const row = this.store.get(id);
        if (row === undefined || isTerminal(row.status)) return;
        const pod = await this.podOf(id);
        if (pod === undefined || !pod.running) return;
        let end: LoopEnd | null = null;
        try {
          end = await this.awaitEnd(row, pod.name);
        } catch (err) {
          failures += 1;
          this.log('cannot follow loop', { task: row.task, error: errorMessage(err) });
        }
        // The runner's socket closed or cannot be reached: a runner that has ended says how in its end file.
        end ??= await this.readEnd(pod.name).catch(() => null);
        if (end !== null) {
          await this.finish(id, pod.name, end);
          return;
        }
        await sleep(Math.min(30_000, 500 * 2 ** failures), undefined, { signal }).catch(() => undefined);
      }
    };
    const following = run()
      .catch((err: unknown) => this.log('following a loop failed', { loop: id, error: errorMessage(err) }))
      .finally(() => this.following.delete(id));
    this.following.set(id, following);
  }

  /** The loop's end as its runner tells it; null when the connection closed first. */
  private async awaitEnd(row: ClusterLoopRow, pod: string): Promise<LoopEnd | null> {
    const stream = await dialPodSocket(this.options.kubeConfig, this.podTarget(pod), row.socket);
    const client = new RpcClient(stream);
    const onAbort = (): void => client.close();
    this.closing.signal.addEventListener('abort', onAbort);
    try {
      const ended = new Promise<LoopEnd | null>((resolve) => {
        client.on('event', (event) => {
          if (event.type !== 'state_change') return;
          const data = event.data as { status?: unknown; exit_reason?: unknown; iteration?: unknown };
          if (typeof data.iteration === 'number') this.store.update(row.id, { iteration: data.iteration });
          if (typeof data.status === 'string' && isTerminal(data.status as SessionStatus)) {
            resolve({
              status: data.status as SessionStatus,
              reason: typeof data.exit_reason === 'string' ? data.exit_reason : null,
              iteration: typeof data.iteration === 'number' ? data.iteration : null,
            });
          } else if (typeof data.status === 'string') {
            this.applyRunnerStatus(row, data.status as SessionStatus);
          }
        });
        client.on('close', () => resolve(null));
      });
      await client.request('subscribe', { events: ['state_change'] });
      const now = await client.request('get_status');
      if (isTerminal(now.status)) {
        return {
          status: now.status as SessionStatus,
          reason: now.exit_reason ?? null,
          iteration: now.iteration,
        };
      }
      this.store.update(row.id, { iteration: now.iteration });
      this.applyRunnerStatus(row, now.status);
      return await ended;
    } finally {
      this.closing.signal.removeEventListener('abort', onAbort);
      client.close();
    }
  }

  /** How the loop ended, from the end file its runner writes before it holds; null while it runs. */
  private async readEnd(pod: string): Promise<LoopEnd | null> {
    const report = parseTerminationReport(await this.execNode(pod, READ_END, [END_FILE]));
    if (report === null) return null;
    return { status: report.status, reason: report.exitReason, iteration: report.iteration ?? null };
  }

  /** A live status the runner reports of itself. */
  private applyRunnerStatus(row: ClusterLoopRow, status: SessionStatus): void {
    this.apply(row.id, { ...this.placeholder(row), state: { status, reason: null } }, true);
  }

  /** A ClusterLoop standing for what a runner said of itself (apply takes its state). */
  private placeholder(row: ClusterLoopRow): ClusterLoop {
    return {
      loopId: row.id,
      task: row.task,
      name: row.job,
      createdAt: this.seen.get(row.id)?.createdAt ?? null,
      deleting: this.seen.get(row.id)?.deleting ?? false,
      state: { status: row.status, reason: row.reason },
      pod: this.seen.get(row.id)?.pod ?? null,
    };
  }

  /**
   * A loop ended in its pod: its commits (a loop on a pushed branch) come home into the project's repository
   * first, so that a client who sees the end can pull them; then the end is recorded and the runner let go.
   */
  private async finish(id: number, pod: string, end: LoopEnd): Promise<void> {
    const row = this.store.get(id);
    if (row === undefined) return;
    let reason = end.reason;
    if (row.branch !== null && row.repo !== null && row.project !== null) {
      try {
        const got = await this.collect(row, pod);
        this.log('loop commits brought home', { task: row.task, branch: row.branch, ...got });
      } catch (err) {
        const why = `its commits did not come home: ${errorMessage(err)}`;
        this.log('cannot bring loop commits home', { task: row.task, error: errorMessage(err) });
        reason = reason === null ? why : `${reason}; ${why}`;
      }
    }
    if (end.iteration !== null) this.store.update(id, { iteration: end.iteration });
    this.apply(id, { ...this.placeholder(row), state: { status: end.status, reason } }, true);
    await this.execNode(pod, RELEASE, [HOLD_MARKER]).catch((err: unknown) =>
      this.log('cannot let the runner go', { task: row.task, error: errorMessage(err) }),
    );
  }

  /** Fetches the loop's branch from its pod (a git bundle through exec) into the project's bare repository. */
  private async collect(row: ClusterLoopRow, pod: string): Promise<{ commit: string; bytes: number }> {
    const bare = join(this.workspace, REPOS_DIR, `${row.project}.git`);
    const dir = mkdtempSync(join(tmpdir(), 'ralph-collect-'));
    try {
      const file = join(dir, 'loop.bundle');
      const bytes = await this.execNodeTo(pod, BUNDLER, [row.repo!, row.branch!, row.basis ?? ''], file);
      const ref = `refs/heads/${row.branch!}`;
      if (bytes > 0) {
        const fetched = spawnSync('git', ['--git-dir', bare, 'fetch', '--quiet', file, `${ref}:${ref}`], {
          env: gitEnv(),
          encoding: 'utf8',
          timeout: 300_000,
        });
        if (fetched.status !== 0) {
          throw new Error(
            `git fetch of the bundle: ${`${fetched.stderr ?? ''}`.trim() || fetched.error?.message}`,
          );
        }
      }
      const commit = String(gitIn('git', bare, ['rev-parse', ref]).stdout).trim();
      return { commit, bytes };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs `node -e script args` in the runner's container; the stream of its stdin and stdout. */
  private nodeInPod(pod: string, script: string, args: string[]): Promise<Duplex> {
    return execStream(this.options.kubeConfig, {
      namespace: this.options.config.namespace,
      pod,
      container: RUNNER_CONTAINER,
      command: [this.options.config.nodePath, '-e', script, ...args],
    });
  }

  /** Runs `node -e script args` in the runner's container with no input; resolves with its stdout. */
  private async execNode(pod: string, script: string, args: string[]): Promise<string> {
    const stream = await this.nodeInPod(pod, script, args);
    stream.end();
    return readAll(stream);
  }

  /** Runs `node -e script args` in the runner's container with its stdout written to `file`; the bytes. */
  private async execNodeTo(pod: string, script: string, args: string[], file: string): Promise<number> {
    const stream = await this.nodeInPod(pod, script, args);
    stream.end();
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await pipeline(stream, createWriteStream(file));
    return bytes;
  }

  private async unpack(pod: string, entries: PackEntry[]): Promise<string> {
    const stream = await this.nodeInPod(pod, UNPACKER, [DATA_MOUNT, DELIVERED_MARKER]);
    const answer = readAll(stream);
    try {
      await writePack(entries, stream);
      stream.end();
    } catch (err) {
      stream.destroy();
      answer.catch(() => undefined);
      throw err;
    }
    const line = (await answer).trim();
    if (!line.startsWith('ok')) throw new Error(`the unpacker said: ${line || 'nothing'}`);
    return line;
  }

  /** Where a runner's socket is reached: its container in `pod`, through the image's node. */
  private podTarget(pod: string): { namespace: string; pod: string; container: string; node: string } {
    return {
      namespace: this.options.config.namespace,
      pod,
      container: RUNNER_CONTAINER,
      node: this.options.config.nodePath,
    };
  }

  private liveRow(task: string): ClusterLoopRow {
    const row = this.store.latest(task);
    if (row === undefined)
      throw RpcError.of('LOOP_NOT_FOUND', `no loop named ${task} on this daemon`, { task });
    if (isTerminal(row.status)) {
      throw RpcError.of('LOOP_ENDED', `loop ${task} has ended (${row.status})`, { task, status: row.status });
    }
    return row;
  }

  /**
   * A stream to the runner's socket in the loop's pod. A loop still starting (its pod not running yet, or its
   * files on their way) is waited for, up to DIAL_WAIT_MS, so that `attach` right after `start` works.
   */
  async dial(task: string): Promise<RunnerStream> {
    const until = Date.now() + DIAL_WAIT_MS;
    let why = 'its pod is not running yet';
    for (;;) {
      const row = this.liveRow(task);
      const pod = row.delivered ? await this.podOf(row.id) : undefined;
      if (!row.delivered) why = `its files are not in its pod yet (${row.reason ?? row.status})`;
      else if (pod === undefined || !pod.running) why = `it has no running pod (${row.reason ?? row.status})`;
      else {
        try {
          const stream = await dialPodSocket(this.options.kubeConfig, this.podTarget(pod.name), row.socket);
          return { stream, loopId: row.id, status: row.status };
        } catch (err) {
          why = `it does not answer: ${errorMessage(err)}`;
        }
      }
      if (Date.now() >= until || this.closing.signal.aborted) {
        throw RpcError.of('LOOP_NOT_FOUND', `loop ${task} cannot be reached: ${why}`, { task });
      }
      await sleep(250);
    }
  }

  /**
   * Asks the runner to stop and waits (up to 15 s) for the cluster to see the loop end, then deletes its Job with
   * foreground propagation. A runner that cannot be asked (no pod, no answer) is stopped by the delete alone.
   */
  async stop(task: string, force: boolean): Promise<{ task: string; status: SessionStatus }> {
    const row = this.store.latest(task);
    if (row === undefined)
      throw RpcError.of('LOOP_NOT_FOUND', `no loop named ${task} on this daemon`, { task });
    if (isTerminal(row.status)) return { task, status: row.status };
    let asked = false;
    try {
      const { stream } = await this.dial(task);
      const client = new RpcClient(stream);
      try {
        await client.request('stop', { force });
        asked = true;
      } finally {
        client.close();
      }
    } catch (err) {
      this.log('cannot ask the runner to stop', { task, error: errorMessage(err) });
    }
    if (asked) {
      // Following the loop records its end once its commits are home; give that its time.
      const following = this.following.get(row.id);
      if (following !== undefined) await Promise.race([following, sleep(60_000)]);
      const until = Date.now() + 15_000;
      while (Date.now() < until) {
        const loop = await this.loops.get(row.id).catch(() => undefined);
        if (loop !== undefined) this.apply(row.id, loop);
        if (isTerminal(this.store.get(row.id)!.status)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    try {
      await this.loops.stop(row.id, { waitMs: 30_000 });
    } catch (err) {
      throw RpcError.of('INTERNAL_ERROR', `cannot delete the Job of loop ${task}: ${errorMessage(err)}`);
    }
    const after = this.store.get(row.id)!;
    if (isTerminal(after.status)) return { task, status: after.status };
    const stopped = this.store.update(row.id, { status: 'stopped', reason: 'stopped: its Job was deleted' })!;
    this.journal.append('loop_failed', task, endData(stopped));
    return { task, status: stopped.status };
  }

  /** Labelled Jobs of this daemon it has no record of. */
  async orphans(): Promise<ClusterLoop[]> {
    const known = new Set(this.store.all().map((r) => r.id));
    return (await this.loops.adopt(known)).orphans;
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.stopWatch?.();
    await Promise.allSettled([...this.deliveries, ...this.following.values()]);
    this.store.close();
  }
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** Rewrites every string of `value` that lies under one of the given roots to the same place in the pod. */
function podPaths(map: ReadonlyArray<[string, string]>): <T>(value: T) => T {
  const swap = (s: string): string => {
    for (const [from, to] of map) {
      if (s === from) return to;
      if (s.startsWith(`${from}/`)) return `${to}${s.slice(from.length)}`;
    }
    return s;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return swap(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return <T>(value: T): T => walk(value) as T;
}

function summaryOf(r: ClusterLoopRow): LoopSummary {
  return {
    task: r.task,
    loop_id: String(r.id),
    status: r.status,
    iteration: r.iteration,
    max_iterations: r.maxIterations,
    agent: r.agent,
    task_dir: r.taskDir,
    branch: r.branch,
    current_story: null,
    started_at: r.startedAt,
    ended_at: r.endedAt,
    exit_reason: r.reason,
    updated_at: r.updatedAt,
  };
}

function endData(r: ClusterLoopRow): Record<string, unknown> {
  return {
    task: r.task,
    loop_id: String(r.id),
    status: r.status,
    exit_reason: r.reason,
    iteration: r.iteration,
  };
}

/** Everything a stream gives until it ends, as text. */
function readAll(stream: Duplex): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    stream.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    stream.once('error', reject);
    stream.once('end', () => resolve(out));
  });
}
