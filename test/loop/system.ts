/** The machine side of loop tests: processes seen through /proc, and the build in dist/ detached runners use. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureCliBuilt } from '../cli/built.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Field 3 (state) and 4 (ppid) of /proc/<pid>/stat, or null when the process is gone. */
export function procStat(pid: number): { state: string; ppid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') {
      return null;
    }
    throw err;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]) };
}

/** Pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => procStat(child)?.ppid === pid);
}

/** A module of the build in dist/ (`src/client/start.js`), for code that must launch the built runner. */
export function builtModule(path: string): string {
  return pathToFileURL(join(ROOT, 'dist', path)).href;
}

/** Detached runners run the build in dist/ (the bundled runner, dist/cli/runner.js): the CLI's build check. */
export { ensureCliBuilt as ensureRunnerBuilt };
