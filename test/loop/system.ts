/** The machine side of loop tests: processes seen through /proc, and the build in dist/ detached runners use. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';

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

/** The runner's detached entry point lives in dist/: rebuild it when missing or older than its sources. */
export async function ensureRunnerBuilt(): Promise<void> {
  const dirs = ['loop', 'client', 'protocol', 'transport', 'registry', 'config', 'util'];
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const stale = (): string[] =>
    [...dirs.flatMap((d) => sources(join(ROOT, 'src', d))), join(ROOT, 'src', 'errors.ts')].filter((src) => {
      if (src.endsWith('.test.ts')) return false;
      const out = join(ROOT, 'dist', src.slice(ROOT.length + 1).replace(/\.ts$/, '.js'));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    });
  if (stale().length === 0) return;
  const result = await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, reject: false });
  const left = stale();
  if (left.length > 0)
    throw new Error(`build left ${left.join(', ')} stale:\n${result.stdout}\n${result.stderr}`);
}
