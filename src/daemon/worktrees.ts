/**
 * A worktree per loop for `start_loop {project, branch, task_path}`: the daemon checks out the branch a client
 * pushed into the project's bare repository (`<workspace>/repos/<project>.git`) as a new worktree,
 * `<workspace>/worktrees/<project>/<task>-<random>`, and the loop runs in its task folder there. A worktree
 * shares the bare repository's refs, so every commit the agent makes moves `refs/heads/<branch>` of the project,
 * which `ralph pull` fetches. Refusals are RpcErrors: a bad name or path INVALID_PARAMS, no repository
 * PROJECT_NOT_FOUND, no branch BRANCH_NOT_FOUND, a git failure GIT_ERROR, a full disk DISK_FULL.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { projectNameProblem } from '../git/project.js';
import { RpcError } from '../protocol/errors.js';
import { REPOS_DIR } from './git.js';

/** The folder of the workspace that holds the loops' worktrees. */
export const WORKTREES_DIR = 'worktrees';

export interface WorktreeRequest {
  project: string;
  branch: string;
  /** The task folder, relative to the repository's top. */
  taskPath: string;
  /** The task's name, used in the worktree's folder name. */
  task: string;
}

export interface LoopWorktree {
  /** Absolute path of the new worktree. */
  worktree: string;
  /** Absolute path of the task folder inside it. */
  taskDir: string;
  /** The branch, without `refs/heads/`. */
  branch: string;
}

function invalid(path: string, message: string): RpcError {
  return RpcError.of('INVALID_PARAMS', `invalid params for start_loop: ${path}: ${message}`, {
    issues: [{ path, message }],
  });
}

/** A short branch name git accepts (`git check-ref-format --branch`), with no `..` and not a full ref name. */
export function checkBranchName(branch: string, git = 'git'): string {
  const short = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (short.includes('..')) throw invalid('branch', `${JSON.stringify(branch)} must not contain ".."`);
  if (short.startsWith('-') || short.startsWith('refs/')) {
    throw invalid('branch', `${JSON.stringify(branch)} is not a branch name`);
  }
  const check = spawnSync(git, ['check-ref-format', `refs/heads/${short}`], {
    env: gitEnv(),
    timeout: 10_000,
  });
  if (check.status !== 0) throw invalid('branch', `${JSON.stringify(branch)} is not a valid branch name`);
  return short;
}

/** A relative path without `..`, NUL or a leading `/`; `.` for the repository's top. */
export function checkTaskPath(taskPath: string): string {
  if (taskPath.includes('\0')) throw invalid('task_path', 'must not contain NUL bytes');
  if (isAbsolute(taskPath)) throw invalid('task_path', `must be relative to the repository (${taskPath})`);
  const parts = taskPath.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid('task_path', `must not contain '..' (${JSON.stringify(taskPath)})`);
  return parts.length === 0 ? '.' : parts.join('/');
}

/** What a worktree request names, checked: the project's repository, the branch and the task path. */
interface CheckedRequest {
  root: string;
  repo: string;
  branch: string;
  taskPath: string;
}

/**
 * Checks a worktree request without changing anything (names, the project's repository, the branch in it);
 * throws RpcError to refuse. Run before slow work a start does first, such as installing the agent.
 */
export function checkLoopWorktree(
  workspace: string,
  request: Omit<WorktreeRequest, 'task'>,
  git = 'git',
): CheckedRequest {
  const why = projectNameProblem(request.project);
  if (why !== null)
    throw invalid('project', `project name ${JSON.stringify(request.project.slice(0, 120))} ${why}`);
  const branch = checkBranchName(request.branch, git);
  const taskPath = checkTaskPath(request.taskPath);
  const root = realpathSync(workspace);
  const repo = join(root, REPOS_DIR, `${request.project}.git`);
  if (!isPlainFolder(repo)) {
    throw RpcError.of(
      'PROJECT_NOT_FOUND',
      `no project ${request.project} on this daemon yet: push to it first`,
      {
        project: request.project,
      },
    );
  }
  if (gitIn(git, repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]).status !== 0) {
    throw RpcError.of(
      'BRANCH_NOT_FOUND',
      `project ${request.project} has no branch ${branch}: push it first`,
      {
        project: request.project,
        branch,
      },
    );
  }
  return { root, repo, branch, taskPath };
}

/** Adds the loop's worktree and returns where its task folder is; throws RpcError to refuse. */
export function addLoopWorktree(workspace: string, request: WorktreeRequest, git = 'git'): LoopWorktree {
  const { root, repo, branch, taskPath } = checkLoopWorktree(workspace, request, git);
  const run = (args: string[]): ReturnType<typeof spawnSync> => gitIn(git, repo, args);
  const parent = join(root, WORKTREES_DIR, request.project);
  try {
    mkdirSync(parent, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw diskOr(err, `cannot create ${parent}`);
  }
  if (!inside(root, realpathSync(parent))) {
    throw RpcError.of('INTERNAL_ERROR', `${parent} leads outside the workspace ${root}; refusing it`);
  }
  const worktree = join(parent, `${request.task}-${randomBytes(4).toString('hex')}`);
  // --force: the branch may still be checked out in the worktree of a loop that has ended; the daemon itself
  // refuses a branch a live loop owns before getting here.
  const added = run(['worktree', 'add', '--force', '--quiet', worktree, branch]);
  if (added.status !== 0) {
    const stderr = String(added.stderr ?? added.error?.message ?? '').trim();
    if (/no space left/i.test(stderr)) throw RpcError.of('DISK_FULL', `git worktree add: ${stderr}`);
    throw RpcError.of('GIT_ERROR', `git worktree add for ${branch} failed: ${stderr.split('\n')[0] ?? ''}`);
  }
  const taskDir = taskPath === '.' ? worktree : join(worktree, taskPath);
  let real: string;
  try {
    real = realpathSync(taskDir);
  } catch {
    throw RpcError.of('INVALID_TASK', `branch ${branch} has no folder ${taskPath}`);
  }
  if (!inside(root, real)) throw invalid('task_path', `${taskPath} leads outside the workspace (to ${real})`);
  return { worktree, taskDir: real, branch };
}

function diskOr(err: unknown, what: string): RpcError {
  const code = (err as NodeJS.ErrnoException).code;
  const message = `${what}: ${(err as Error).message}`;
  return RpcError.of(code === 'ENOSPC' ? 'DISK_FULL' : 'INTERNAL_ERROR', message);
}

function isPlainFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** Runs git on the bare repository `repo`, without the daemon's GIT_* variables. */
export function gitIn(git: string, repo: string, args: string[]): ReturnType<typeof spawnSync> {
  return spawnSync(git, ['--git-dir', repo, ...args], { env: gitEnv(), encoding: 'utf8', timeout: 120_000 });
}

export function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return env;
}
