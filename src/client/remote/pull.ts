/**
 * `ralph pull <task>` (or `<remote>:<task>`): brings a remote loop's branch home, into the repository of the
 * current folder, through `git fetch ralph::<remote>/<project>` (only what is missing travels). Local work is
 * never overwritten:
 * - no local branch of that name: it is created at the fetched commit;
 * - a local branch the fetched commit fast-forwards: moved there (`git merge --ff-only` when it is checked out
 *   here with a clean working tree); when it is checked out dirty, or in another worktree, nothing moves;
 * - otherwise (diverged, or not movable) the commit goes to `refs/heads/ralph/<remote>/<task>` and the
 *   result says so.
 */
import { ralphPaths, type RalphPaths } from '../../config/paths.js';
import { ExitCode, RalphError } from '../../errors.js';
import { projectNameProblem } from '../../git/project.js';
import { Registry } from '../../registry/index.js';
import { findSession, taskAddress } from '../find.js';
import { DaemonClient } from './daemon-client.js';
import { defaultProject, localGit, type LocalGit } from './local-git.js';
import { getRemote } from './remotes.js';

export type PullOutcome = 'created' | 'fast-forward' | 'up-to-date' | 'side-branch';

export interface PullResult {
  task: string;
  remote: string;
  project: string;
  /** The loop's branch on the box. */
  branch: string;
  commit: string;
  /** The local branch that now holds `commit`. */
  local_branch: string;
  outcome: PullOutcome;
  /** Why the commit went to a side branch (null otherwise). */
  reason: string | null;
}

export interface PullOptions {
  /** The folder whose repository receives the branch (default: the current folder). */
  cwd?: string;
  project?: string | undefined;
  onProgress?: ((chunk: Buffer) => void) | undefined;
}

export async function pullLoop(
  address: string,
  options: PullOptions = {},
  paths: RalphPaths = ralphPaths(),
): Promise<PullResult> {
  const registry = Registry.open(paths.registryFile);
  let session;
  try {
    session = findSession(registry, address);
  } finally {
    registry.close();
  }
  if (session.remoteName === null) {
    throw new RalphError(
      'INVALID_OPTION',
      `loop ${session.task} runs on this machine: its branch is here already`,
      {
        exitCode: ExitCode.usage,
      },
    );
  }
  const remote = getRemote(session.remoteName, paths);
  const git = localGit(options.cwd ?? process.cwd(), paths);
  const branch = session.branch ?? (await branchFromDaemon(session.remoteName, session.task, paths));
  const project = options.project ?? projectOf(session.worktree) ?? defaultProject(git.top);
  const why = projectNameProblem(project);
  if (why !== null) {
    throw new RalphError('INVALID_OPTION', `project name ${JSON.stringify(project)} ${why}`, {
      exitCode: ExitCode.usage,
    });
  }
  const shortBranch = branch.replace(/^refs\/heads\//, '');
  await git.stream(
    ['fetch', '--progress', '--no-tags', `ralph::${remote.name}/${project}`, `refs/heads/${shortBranch}`],
    options.onProgress,
  );
  const commit = git.run(['rev-parse', 'FETCH_HEAD^{commit}']).stdout;
  const base = { task: session.task, remote: remote.name, project, branch: shortBranch, commit };
  const placed = place(git, shortBranch, commit, `ralph/${remote.name}/${session.task}`);
  return { ...base, ...placed };
}

function place(
  git: LocalGit,
  branch: string,
  commit: string,
  sideBranch: string,
): Pick<PullResult, 'local_branch' | 'outcome' | 'reason'> {
  const ref = `refs/heads/${branch}`;
  const local = git.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFail: true });
  const side = (reason: string): Pick<PullResult, 'local_branch' | 'outcome' | 'reason'> => {
    git.run(['update-ref', '-m', `ralph pull: ${reason}`, `refs/heads/${sideBranch}`, commit]);
    return { local_branch: sideBranch, outcome: 'side-branch', reason };
  };
  if (local.status !== 0) {
    git.run(['update-ref', '-m', 'ralph pull', ref, commit, '']);
    return { local_branch: branch, outcome: 'created', reason: null };
  }
  const old = local.stdout;
  if (old === commit) return { local_branch: branch, outcome: 'up-to-date', reason: null };
  const ff = git.run(['merge-base', '--is-ancestor', old, commit], { allowFail: true }).status === 0;
  if (!ff) return side(`local ${branch} has commits the box's branch lacks (not a fast-forward)`);
  const here = git.run(['symbolic-ref', '--quiet', 'HEAD'], { allowFail: true }).stdout;
  if (here === ref) {
    const dirty = git.run(['status', '--porcelain', '--untracked-files=no']).stdout !== '';
    if (dirty) return side(`${branch} is checked out here with uncommitted changes`);
    git.run(['merge', '--ff-only', '--quiet', commit]);
    return { local_branch: branch, outcome: 'fast-forward', reason: null };
  }
  if (checkedOutElsewhere(git, ref)) return side(`${branch} is checked out in another worktree`);
  git.run(['update-ref', '-m', 'ralph pull: fast-forward', ref, commit, old]);
  return { local_branch: branch, outcome: 'fast-forward', reason: null };
}

function checkedOutElsewhere(git: LocalGit, ref: string): boolean {
  const list = git.run(['worktree', 'list', '--porcelain']).stdout;
  return list.split('\n').some((line) => line === `branch ${ref}`);
}

/** The project of a box worktree path `<workspace>/worktrees/<project>/<task>-<id>`. */
function projectOf(worktree: string | null): string | null {
  if (worktree === null) return null;
  const parts = worktree.split('/');
  const i = parts.lastIndexOf('worktrees');
  return i >= 0 && i + 2 < parts.length ? parts[i + 1]! : null;
}

async function branchFromDaemon(remoteName: string, task: string, paths: RalphPaths): Promise<string> {
  const daemon = await DaemonClient.open(getRemote(remoteName, paths));
  try {
    const loop = (await daemon.listLoops()).loops.find((l) => l.task === task);
    if (loop?.branch) return loop.branch;
  } finally {
    daemon.close();
  }
  throw new RalphError('INVALID_OPTION', `loop ${taskAddress({ task, remoteName })} has no branch to pull`, {
    exitCode: ExitCode.notFound,
    hint: 'only loops started with ralph start --remote work on a branch',
  });
}
