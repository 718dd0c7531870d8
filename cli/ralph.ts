#!/usr/bin/env node
/**
 * The `ralph` executable: turns on V8's compile cache where Node has it (22.1 and later), then runs the command
 * line: the plain forms of `ralph status` from an entry of their own (status-entry.ts), anything else from
 * main.ts. With the cache, the bundle's chunks are compiled once per version and read back afterwards (with
 * listings written straight to fd 1, Node 24's `ralph status` went from about 60 to 53 ms). It lives in this
 * user's own cache folder, and only when that folder and its parent are this user's and open to no one else:
 * compiled code read from a folder another user could write to would be theirs to choose. Anything unexpected
 * leaves the cache off; the command runs either way.
 *
 * Nothing is imported statically: a module graph is compiled before its first line runs, so everything the
 * cache should cover comes through the dynamic imports at the end.
 */
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as Os from 'node:os';

interface CompileCacheModule {
  enableCompileCache?: (dir?: string) => unknown;
}

/** `<RALPH_HOME>/cache/compile`, else `$XDG_CACHE_HOME/ralph/compile` (default `~/.cache`). */
function compileCacheDir(env: NodeJS.ProcessEnv, path: typeof Path, os: typeof Os): string {
  const home = env.RALPH_HOME;
  if (home !== undefined && home !== '') return path.join(path.resolve(home), 'cache', 'compile');
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'ralph', 'compile');
}

/** Whether `dir` may hold compiled code: it and its parent are directories of this user, writable by no other. */
function privateEnough(fs: typeof Fs, path: typeof Path, dir: string, uid: number): boolean {
  for (const d of [dir, path.dirname(dir)]) {
    const st = fs.lstatSync(d, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return false;
  }
  return true;
}

function enableCache(): void {
  const mod = process.getBuiltinModule('node:module') as CompileCacheModule;
  const uid = process.getuid?.();
  if (typeof mod.enableCompileCache !== 'function' || uid === undefined) return;
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  const dir = compileCacheDir(process.env, path, process.getBuiltinModule('node:os'));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (privateEnough(fs, path, dir, uid)) mod.enableCompileCache(dir);
}

try {
  enableCache();
} catch {
  // A read-only or full home: run without the cache.
}
// Plain `ralph status` has an entry of its own (status-entry.ts); every other command line goes to main.ts.
const argv = process.argv.slice(2);
const status = argv[0] === 'status' ? await import('./status-entry.js') : undefined;
if (status === undefined || !status.runPlainStatus(argv)) await import('./main.js');
