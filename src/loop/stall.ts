/**
 * Stall detection: a fingerprint of what an iteration can change in the task — prd.json, progress.txt and, when
 * the task folder is in a git repository, its HEAD and `git status --porcelain` — taken after every iteration.
 * `stallAfter` iterations in a row that leave it as it was end the loop `stalled`.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { changeDigest } from '../util/digest.js';

export interface TaskFingerprint {
  prd: string;
  progress: string;
  /** HEAD commit, or null when the task folder is not in a git repository. */
  head: string | null;
  /** Digest of `git status --porcelain`, or null outside git. */
  worktree: string | null;
}

const GIT_TIMEOUT_MS = 30_000;
/** More output than this (a worktree with millions of untracked files) fails the call, as it did through execa. */
const GIT_MAX_OUTPUT = 100_000_000;

function digestFile(file: string): string {
  try {
    return changeDigest(readFileSync(file));
  } catch {
    return 'missing';
  }
}

/**
 * git's output, or null when it failed (not a repository, no git, too slow). Through Node's `execFile`, not
 * execa: this runs in every runner from its first iteration, and importing execa compiles a Unicode-property
 * regular expression that reads about 0.7 MB of ICU's tables into each runner's memory, where they stay.
 */
function git(cwd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = execFile(
      'git',
      args,
      { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: GIT_MAX_OUTPUT, encoding: 'utf8' },
      (err, stdout) => resolve(err ? null : stdout.replace(/\r?\n$/, '')),
    );
    child.stdin?.end();
  });
}

/**
 * Takes the fingerprint of the task folder and, when the agent works elsewhere (`--cwd`), of that folder's git
 * repository too.
 */
export async function fingerprint(taskDir: string, cwd = taskDir): Promise<TaskFingerprint> {
  const heads: string[] = [];
  const statuses: string[] = [];
  for (const dir of cwd === taskDir ? [taskDir] : [taskDir, cwd]) {
    const status = await git(dir, ['status', '--porcelain', '--untracked-files=all']);
    if (status === null) continue; // not in a git repository
    // A repository without commits has no HEAD yet; its worktree still counts.
    heads.push((await git(dir, ['rev-parse', 'HEAD']))?.trim() || 'no-commits');
    statuses.push(status);
  }
  return {
    prd: digestFile(join(taskDir, 'prd.json')),
    progress: digestFile(join(taskDir, 'progress.txt')),
    head: heads.length === 0 ? null : heads.join(' '),
    worktree: heads.length === 0 ? null : changeDigest(statuses.join('\0')),
  };
}

/** Counts iterations in a row that changed nothing; `observe` after each iteration that ran the agent. */
export class StallWatch {
  private last: TaskFingerprint | null = null;
  private unchanged: number[] = [];

  constructor(
    private readonly taskDir: string,
    private readonly cwd: string,
    private readonly limit: number,
  ) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Takes the fingerprint the first iteration is compared with. */
  async start(): Promise<void> {
    if (this.enabled) this.last = await fingerprint(this.taskDir, this.cwd);
  }

  /** Records iteration `number`'s result; returns the evidence once the loop has stalled, else null. */
  async observe(number: number): Promise<string | null> {
    if (!this.enabled) return null;
    const now = await fingerprint(this.taskDir, this.cwd);
    const same = this.last !== null && sameFingerprint(this.last, now);
    this.last = now;
    this.unchanged = same ? [...this.unchanged, number] : [];
    if (this.unchanged.length < this.limit) return null;
    return evidence(this.unchanged, now);
  }
}

function sameFingerprint(a: TaskFingerprint, b: TaskFingerprint): boolean {
  return a.prd === b.prd && a.progress === b.progress && a.head === b.head && a.worktree === b.worktree;
}

function evidence(iterations: number[], now: TaskFingerprint): string {
  const first = iterations[0];
  const last = iterations[iterations.length - 1];
  const range = first === last ? `iteration ${first}` : `iterations ${first}-${last}`;
  const heads = now.head?.split(' ').map((h) => h.slice(0, 12)) ?? [];
  const git = heads.length === 0 ? '' : `, git HEAD ${heads.join(' and ')} and the worktree`;
  return `${iterations.length} iterations in a row changed nothing (${range}: prd.json, progress.txt${git} unchanged)`;
}
