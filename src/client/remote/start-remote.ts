/**
 * `ralph start <task-dir> --remote <name>`: sends the task's code to the remote with git and starts the loop
 * there. The commit checked out here (HEAD) is pushed as `refs/heads/<branch>` of project `<project>` through
 * `git push ralph::<remote>/<project>` (git's own negotiation: only what the box lacks travels); the daemon then
 * adds a worktree of that branch and starts the loop in the task folder's place in it. Uncommitted changes in
 * the task folder are refused, or with `includeUncommitted` sent as a snapshot commit on top of HEAD (made in a
 * private index, held by a temporary ref while it is pushed), so nothing is silently left behind.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { ralphPaths, type RalphPaths } from '../../config/paths.js';
import { ExitCode, RalphError } from '../../errors.js';
import { projectNameProblem } from '../../git/project.js';
import { loadPrd } from '../../loop/prd.js';
import { taskNameFromDir } from '../../loop/task-name.js';
import type { SessionRecord } from '../../registry/index.js';
import { defaultProject, localGit, type LocalGit } from './local-git.js';
import { startAndRecord, type StartRemoteOptions } from './remote-commands.js';
import { getRemote } from './remotes.js';

export interface StartOnRemoteOptions extends StartRemoteOptions {
  /** The project on the box (default: the repository folder's name). */
  project?: string | undefined;
  /** Send uncommitted changes of the task folder as a snapshot commit instead of refusing them. */
  includeUncommitted?: boolean | undefined;
  /** git's progress lines while pushing (its stderr). */
  onProgress?: ((chunk: Buffer) => void) | undefined;
}

export interface StartOnRemoteResult {
  session: SessionRecord;
  project: string;
  branch: string;
  /** The commit pushed as the branch. */
  commit: string;
  /** True when that commit is a snapshot of uncommitted changes. */
  snapshot: boolean;
}

/** Most uncommitted paths named in the refusal. */
const LISTED_PATHS = 5;

export async function startOnRemote(
  remoteName: string,
  taskDirArg: string,
  options: StartOnRemoteOptions = {},
  paths: RalphPaths = ralphPaths(),
): Promise<StartOnRemoteResult> {
  const remote = getRemote(remoteName, paths);
  const files = taskFiles(taskDirArg);
  const prd = loadPrd(files.prdFile);
  const task = options.name ?? taskNameFromDir(files.taskDir);
  const git = localGit(files.taskDir, paths);
  const taskPath = relative(realpathSync(git.top), realpathSync(files.taskDir)).split(sep).join('/') || '.';
  const branch = checkBranch(git, prd.branchName ?? `ralph/${task}`);
  const project = options.project ?? defaultProject(git.top);
  const why = projectNameProblem(project);
  if (why !== null) {
    throw new RalphError('INVALID_OPTION', `project name ${JSON.stringify(project)} ${why}`, {
      exitCode: ExitCode.usage,
      hint: 'name the project on the box with --project <name>',
    });
  }
  if (git.run(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { allowFail: true }).status !== 0) {
    throw new RalphError('GIT_FAILED', 'the repository has no commit yet: commit the task folder first', {
      exitCode: ExitCode.usage,
    });
  }
  const dirty = uncommitted(git, taskPath);
  if (dirty.length > 0 && options.includeUncommitted !== true) {
    const shown = dirty.slice(0, LISTED_PATHS).join(', ') + (dirty.length > LISTED_PATHS ? ', ...' : '');
    throw new RalphError(
      'GIT_UNCOMMITTED',
      `the task folder ${taskPath} has ${dirty.length} uncommitted change(s) (${shown}); they would not reach the box`,
      {
        exitCode: ExitCode.conflict,
        hint: 'commit them, or add --include-uncommitted to send them as a snapshot commit',
      },
    );
  }
  const snapshot = dirty.length > 0;
  const tempRef = `refs/ralph/snapshots/${task}`;
  const commit = snapshot ? snapshotCommit(git, taskPath, tempRef) : git.run(['rev-parse', 'HEAD']).stdout;
  try {
    await git.stream(
      ['push', '--progress', `ralph::${remote.name}/${project}`, `${commit}:refs/heads/${branch}`],
      options.onProgress,
    );
  } catch (err) {
    if (err instanceof RalphError && /non-fast-forward|fetch first/.test(err.message)) {
      throw new RalphError('GIT_FAILED', err.message, {
        exitCode: ExitCode.conflict,
        hint: `the box's ${branch} has commits this repository lacks: bring them home with ralph pull ${remote.name}:${task}`,
      });
    }
    throw err;
  } finally {
    if (snapshot) git.run(['update-ref', '-d', tempRef], { allowFail: true });
  }
  const where = { project, branch, task_path: taskPath };
  const session = await startAndRecord(remote, where, { ...options, name: task }, paths);
  return { session, project, branch, commit, snapshot };
}

/**
 * The task folder and its prd.json, checked without writing anything (a local start creates progress.txt; here
 * that would be an uncommitted change of its own, and the box's runner creates it in the worktree anyway).
 */
function taskFiles(dir: string): { taskDir: string; prdFile: string } {
  const taskDir = resolve(dir);
  const invalid = (why: string): RalphError =>
    new RalphError('INVALID_TASK', why, { exitCode: ExitCode.invalidTask });
  if (!existsSync(taskDir) || !statSync(taskDir).isDirectory()) {
    throw invalid(`task folder ${taskDir} does not exist`);
  }
  for (const file of ['prd.json', 'prompt.md']) {
    if (!existsSync(join(taskDir, file))) throw invalid(`task folder ${taskDir} has no ${file}`);
  }
  return { taskDir, prdFile: join(taskDir, 'prd.json') };
}

/** A branch name git accepts, else INVALID_OPTION (e.g. a prd.json `branchName` with `..`). */
function checkBranch(git: LocalGit, branch: string): string {
  const ok = git.run(['check-ref-format', '--branch', branch], { allowFail: true });
  if (ok.status !== 0 || branch.startsWith('-') || branch.includes('..')) {
    throw new RalphError(
      'INVALID_OPTION',
      `branch name ${JSON.stringify(branch)} is not a valid git branch name`,
      {
        exitCode: ExitCode.usage,
        hint: "fix prd.json's branchName",
      },
    );
  }
  return ok.stdout || branch;
}

/** Paths under the task folder that differ from HEAD (staged, unstaged or untracked). */
function uncommitted(git: LocalGit, taskPath: string): string[] {
  const out = git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', taskPath]).stdout;
  return out
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => entry.slice(3));
}

/**
 * A commit on top of HEAD whose tree is HEAD's with the task folder as it is on disk (untracked files
 * included, ignored ones not), made in a private index so the user's own index is untouched; `tempRef` holds it.
 */
function snapshotCommit(git: LocalGit, taskPath: string, tempRef: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ralph-snapshot-'));
  try {
    const env = { GIT_INDEX_FILE: join(dir, 'index') };
    git.run(['read-tree', 'HEAD'], { env });
    git.run(['add', '-A', '--', taskPath], { env });
    const tree = git.run(['write-tree'], { env }).stdout;
    const message = `ralph: snapshot of ${taskPath} with its uncommitted changes`;
    const commit = git.run(['commit-tree', tree, '-p', 'HEAD', '-m', message]).stdout;
    git.run(['update-ref', tempRef, commit]);
    return commit;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
