/**
 * The daemon's side of `git_connect {project, service}`: git's own fetch and push, carried over a daemon
 * connection. Two steps, like `open_loop`'s hand-over:
 * - `prepareGitConnect` checks the request (only `git-upload-pack` and `git-receive-pack`; a project name of
 *   one plain segment), finds the project's bare repository `<workspace>/repos/<project>.git` (creating it,
 *   `git init --bare`, on the first push) and installs its pre-receive hook. A refusal is an RpcError, so the
 *   request is answered with it and the connection goes on.
 * - after the answer, `serveGitConnect` runs `git upload-pack` (protocol v2) or `git receive-pack` on that
 *   repository with the connection as its stdin and stdout, and ends the connection when git exits.
 * Pushes are checked by the hook (src/daemon/git-hook.ts): ref names, and refs a running loop owns. Git runs
 * without a shell, with no GIT_* variables from the daemon's environment, and writes only inside the repository.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors.js';
import { isGitService, projectNameProblem, GIT_SERVICES, type GitService } from '../git/project.js';
import { RpcError, type Logger } from '../protocol/index.js';
import { OWNED_BRANCHES_ENV, installPreReceiveHook } from './git-hook.js';

export interface GitServeOptions {
  /** The daemon's workspace; project repositories live in its `repos/` folder. */
  workspace: string;
  /** Branches running loops own (`ralph/x` or `refs/heads/ralph/x`): pushes to them are refused. */
  ownedBranches(): Set<string>;
  /** Told of every git session when it ends. */
  audit?: (record: GitSessionRecord) => void;
  logger?: Logger;
  /** The git program; default `git` from PATH. */
  git?: string;
  /**
   * Seconds without a byte either way before a fetch or push is given up and its git ended (default 600), so
   * a client that stalls cannot hold a git process open. Fetches also pass it to `upload-pack --timeout`.
   */
  idleTimeoutSeconds?: number;
}

export interface GitConnectPlan {
  project: string;
  service: GitService;
  /** Absolute path of the bare repository. */
  repo: string;
  /** True when this request created the repository. */
  created: boolean;
  options: GitServeOptions;
}

export interface GitSessionRecord {
  project: string;
  service: GitService;
  outcome: 'ok' | 'error';
  /** git's exit code (null when it was killed or could not start). */
  exit_code: number | null;
  /** Bytes from the client to git, and from git to the client. */
  bytes_in: number;
  bytes_out: number;
  /** True when the session was ended for `idleTimeoutSeconds` without a byte. */
  idle?: boolean;
}

export interface GitServeResult extends GitSessionRecord {
  /** The end of git's stderr, for the daemon's log. */
  stderr: string;
}

/** The folder of the workspace that holds the project repositories. */
export const REPOS_DIR = 'repos';
const STDERR_KEPT = 4096;
const DEFAULT_IDLE_SECONDS = 600;

/** Checks a `git_connect` request and readies its repository; throws RpcError to refuse it. */
export function prepareGitConnect(params: unknown, options: GitServeOptions): GitConnectPlan {
  const { project, service } = checkParams(params);
  const repos = reposFolder(options.workspace, service === 'git-receive-pack');
  const repo = join(repos ?? '', `${project}.git`);
  let created = false;
  if (repos === null || !isRepoFolder(repo)) {
    if (service !== 'git-receive-pack') {
      throw RpcError.of('PROJECT_NOT_FOUND', `no project ${project} on this daemon yet: push to it first`, {
        project,
      });
    }
    created = createBareRepo(repos!, project, options.git ?? 'git');
  }
  if (service === 'git-receive-pack') installPreReceiveHook(repo);
  return { project, service, repo, created, options };
}

/**
 * Runs git's side of the service on `stream` (the client's bytes already read are in `pending`). Resolves when
 * git has exited and the stream has been ended; never rejects.
 */
export function serveGitConnect(
  stream: Duplex,
  plan: GitConnectPlan,
  pending: readonly Buffer[] = [],
): Promise<GitServeResult> {
  const { options } = plan;
  const log = options.logger ?? (() => undefined);
  const child = spawn(options.git ?? 'git', gitArgs(plan), {
    cwd: plan.repo,
    env: gitEnv(plan),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let bytesIn = 0;
  let bytesOut = 0;
  let stderr = '';
  let idle = false;
  const idleMs = (options.idleTimeoutSeconds ?? DEFAULT_IDLE_SECONDS) * 1000;
  const idleTimer = setTimeout(() => {
    idle = true;
    stderr = `${stderr}no bytes either way for ${idleMs / 1000} s: ended\n`.slice(-STDERR_KEPT);
    log(`git ${plan.service} of ${plan.project} idle for ${idleMs / 1000} s: ending it`);
    child.kill('SIGTERM');
    stream.destroy();
  }, idleMs);
  idleTimer.unref();
  return new Promise((resolve) => {
    let done = false;
    const finish = (exitCode: number | null): void => {
      if (done) return;
      done = true;
      clearTimeout(idleTimer);
      stream.unpipe(child.stdin);
      if (!stream.writableEnded) stream.end();
      setTimeout(() => stream.destroy(), 5000).unref();
      const record: GitSessionRecord = {
        project: plan.project,
        service: plan.service,
        outcome: exitCode === 0 ? 'ok' : 'error',
        exit_code: exitCode,
        bytes_in: bytesIn,
        bytes_out: bytesOut,
        ...(idle ? { idle: true } : {}),
      };
      try {
        options.audit?.(record);
      } catch (err) {
        log('git session audit failed', { error: err });
      }
      resolve({ ...record, stderr });
    };
    child.on('error', (err) => {
      log(`git ${plan.service} could not start`, { error: err });
      stderr = errorMessage(err);
      finish(null);
    });
    child.on('close', (code) => {
      if (code === 0 && plan.service === 'git-receive-pack') pointHeadAtABranch(plan, log);
      finish(code);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    child.stdin.on('error', () => undefined); // git exited before reading everything: its exit says why
    child.stdout.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      idleTimer.refresh();
    });
    child.stdout.pipe(stream);
    stream.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
      idleTimer.refresh();
    });
    stream.on('error', (err) => {
      log(`git ${plan.service} connection failed`, { error: err });
      child.kill('SIGTERM');
    });
    stream.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
    for (const chunk of pending) {
      bytesIn += chunk.length;
      child.stdin.write(chunk);
    }
    stream.pipe(child.stdin);
  });
}

function checkParams(params: unknown): { project: string; service: GitService } {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  const { service, project } = p;
  if (!isGitService(service)) {
    const what =
      typeof service === 'string' ? `service ${JSON.stringify(service.slice(0, 64))}` : 'service: missing';
    throw invalid('service', `${what} is not served: only ${GIT_SERVICES.join(' and ')}`);
  }
  if (typeof project !== 'string') throw invalid('project', 'project: expected a string');
  const why = projectNameProblem(project);
  if (why !== null) throw invalid('project', `project name ${JSON.stringify(project.slice(0, 120))} ${why}`);
  return { project, service };
}

function invalid(path: string, message: string): RpcError {
  return RpcError.of('INVALID_PARAMS', `invalid params for git_connect: ${message}`, {
    issues: [{ path, message }],
  });
}

/** `<workspace>/repos`, a real folder inside the real workspace; created when `create`, else null if absent. */
function reposFolder(workspace: string, create: boolean): string | null {
  const root = realpathSync(workspace);
  const repos = join(root, REPOS_DIR);
  try {
    if (!lstatSync(repos).isDirectory()) throw notAFolder(repos);
    return repos;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!create) return null;
  mkdirSync(repos, { mode: 0o700 });
  return repos;
}

/** True when `path` is a folder (a symlink never counts: it could point out of the workspace). */
function isRepoFolder(path: string): boolean {
  try {
    const stat = lstatSync(path);
    if (!stat.isDirectory()) throw notAFolder(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function notAFolder(path: string): RpcError {
  return RpcError.of(
    'INTERNAL_ERROR',
    `${path} on the daemon is not a folder (a symlink or a file); refusing it`,
  );
}

/**
 * `git init --bare` into a temporary folder, then renamed into place, so a second first push at the same time
 * finds either nothing or a whole repository. Returns false when another request created it first.
 */
function createBareRepo(repos: string, project: string, git: string): boolean {
  const target = join(repos, `${project}.git`);
  const tmp = join(repos, `.${project}.${randomBytes(6).toString('hex')}.tmp`);
  const init = spawnSyncChecked(git, ['init', '--bare', '--quiet', '--template=', tmp]);
  if (init !== null) {
    rmSync(tmp, { recursive: true, force: true });
    throw RpcError.of('INTERNAL_ERROR', `git init --bare for project ${project} failed: ${init}`);
  }
  try {
    renameSync(tmp, target);
    return true;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && isRepoFolder(target)) return false;
    throw err;
  }
}

/**
 * A repository whose HEAD names a branch nobody pushed (a first push of `main` into a repository made with
 * `master`) gets HEAD pointed at a pushed branch: `main`, else `master`, else the first, so a clone checks
 * something out.
 */
function pointHeadAtABranch(plan: GitConnectPlan, log: Logger): void {
  const git = plan.options.git ?? 'git';
  const run = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(git, ['--git-dir', plan.repo, ...args], { env: cleanEnv(), encoding: 'utf8', timeout: 10_000 });
  if (run(['rev-parse', '--verify', '--quiet', 'HEAD']).status === 0) return;
  const listed = run(['for-each-ref', '--format=%(refname)', 'refs/heads/']);
  const branches = String(listed.stdout ?? '')
    .split('\n')
    .filter((b) => b !== '');
  const pick = ['refs/heads/main', 'refs/heads/master'].find((b) => branches.includes(b)) ?? branches[0];
  if (pick === undefined) return;
  const set = run(['symbolic-ref', 'HEAD', pick]);
  if (set.status !== 0) log(`could not point HEAD of ${plan.project} at ${pick}`, { stderr: set.stderr });
}

function gitArgs(plan: GitConnectPlan): string[] {
  if (plan.service === 'git-upload-pack') {
    const idle = plan.options.idleTimeoutSeconds ?? DEFAULT_IDLE_SECONDS;
    return ['upload-pack', '--strict', `--timeout=${idle}`, plan.repo];
  }
  return [
    '-c',
    `core.hooksPath=${join(plan.repo, 'hooks')}`,
    '-c',
    'receive.fsckObjects=true',
    // Loops' worktrees check branches out; git would refuse to move one even after its loop ended. The hook
    // refuses the branches of loops still running, so the others may move (the next loop gets a new worktree).
    '-c',
    'receive.denyCurrentBranch=ignore',
    'receive-pack',
    plan.repo,
  ];
}

/** The daemon's environment without GIT_* variables (a GIT_DIR there would point git elsewhere). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_') && key !== OWNED_BRANCHES_ENV) env[key] = value;
  }
  return env;
}

/** Runs git to the end; returns null on success, else what went wrong. */
function spawnSyncChecked(git: string, args: string[]): string | null {
  const run = spawnSync(git, args, { env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
  if (run.error !== undefined) return run.error.message;
  if (run.status !== 0) return (run.stderr || `exit ${run.status}`).trim().split('\n')[0] ?? '';
  return null;
}

function gitEnv(plan: GitConnectPlan): NodeJS.ProcessEnv {
  const env = cleanEnv();
  if (plan.service === 'git-upload-pack') env.GIT_PROTOCOL = 'version=2';
  else env[OWNED_BRANCHES_ENV] = JSON.stringify(ownedRefs(plan.options.ownedBranches()));
  return env;
}

function ownedRefs(branches: Set<string>): string[] {
  return [...branches].map((b) => (b.startsWith('refs/') ? b : `refs/heads/${b}`));
}
