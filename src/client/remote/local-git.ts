/**
 * git on the laptop for `ralph start --remote` and `ralph pull`: run in the user's repository, with this
 * package's `git-remote-ralph` first on PATH (a private folder holding a link to it), so `ralph::` addresses
 * reach the same ralph whatever else is installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RalphPaths } from '../../config/paths.js';
import { ExitCode, RalphError } from '../../errors.js';

const HELPER = fileURLToPath(new URL('../../../cli/git-remote-ralph.js', import.meta.url));

/** A folder with `git-remote-ralph` in it, linking to this package's helper. */
export function helperBinDir(paths: RalphPaths): string {
  const dir = join(paths.dataDir, 'bin');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const link = join(dir, 'git-remote-ralph');
  let current: string | null = null;
  try {
    current = readlinkSync(link);
  } catch {
    current = null;
  }
  if (current !== HELPER) {
    const tmp = `${link}.${process.pid}.tmp`;
    symlinkSync(HELPER, tmp);
    renameSync(tmp, link);
  }
  return dir;
}

export interface LocalGit {
  /** The repository's top folder. */
  top: string;
  /** Runs git to the end; throws GIT_FAILED with git's message unless `allowFail`. */
  run(args: string[], options?: { allowFail?: boolean; env?: NodeJS.ProcessEnv }): GitResult;
  /** Runs git handing its stderr (progress) to `onStderr` as it comes; throws GIT_FAILED when it fails. */
  stream(args: string[], onStderr?: (chunk: Buffer) => void): Promise<void>;
}

export interface GitResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** git in the repository holding `dir`; INVALID_OPTION when `dir` is in none. */
export function localGit(dir: string, paths: RalphPaths): LocalGit {
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.PATH = [helperBinDir(paths), env.PATH ?? ''].join(delimiter);
  env.GIT_TERMINAL_PROMPT = '0';
  const raw = (cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}): GitResult => {
    const r = spawnSync('git', args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 120_000 });
    if (r.error !== undefined) {
      throw new RalphError('GIT_FAILED', `git could not run: ${r.error.message}`, { cause: r.error });
    }
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
  };
  const top = raw(dir, ['rev-parse', '--show-toplevel']);
  if (top.status !== 0) {
    throw new RalphError('INVALID_OPTION', `${dir} is not inside a git repository`, {
      exitCode: ExitCode.usage,
      hint: 'ralph start --remote sends the task with git: run it on a task folder inside a repository',
    });
  }
  return {
    top: top.stdout,
    run(args, options = {}) {
      const r = raw(top.stdout, args, options.env);
      if (r.status !== 0 && options.allowFail !== true) throw gitFailed(args, r.stderr);
      return r;
    },
    stream(args, onStderr) {
      return new Promise((resolve, reject) => {
        const child = spawn('git', args, { cwd: top.stdout, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let tail = '';
        child.stderr.on('data', (chunk: Buffer) => {
          onStderr?.(chunk);
          tail = (tail + chunk.toString('utf8')).slice(-4096);
        });
        child.on('error', (err) => reject(new RalphError('GIT_FAILED', `git could not run: ${err.message}`)));
        child.on('close', (code) => (code === 0 ? resolve() : reject(gitFailed(args, tail))));
      });
    },
  };
}

function gitFailed(args: string[], stderr: string): RalphError {
  const lines = stderr.split(/[\r\n]+/).filter((l) => l.trim() !== '');
  const why =
    lines.find((l) => /ralph: refused|rejected|^ralph:|fatal:|error:/.test(l)) ?? lines.at(-1) ?? '';
  return new RalphError('GIT_FAILED', `git ${args[0]} failed: ${why.trim()}`, { exitCode: ExitCode.failure });
}

/** The project a repository is sent as by default: its top folder's name. */
export function defaultProject(top: string): string {
  return basename(top);
}
