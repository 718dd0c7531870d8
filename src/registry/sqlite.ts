/**
 * The SQLite binding for this Node.js. better-sqlite3 12 is built against Node's own C++ API, whose object
 * wrappers abort the process on Node 24 when a statement is destroyed outside a context (at exit or during
 * garbage collection); better-sqlite3 13 uses Node-API and is safe there, but needs Node 22 or newer. Both are
 * installed; each Node gets the one that works on it.
 *
 * The packages' JavaScript is imported (so the CLI's bundle carries it: a dozen CommonJS files loaded one by
 * one cost every `ralph status` about 4 ms), and the compiled addon is loaded here, by path, and handed to it
 * as `nativeBinding`: the package's own search for the addon needs a CommonJS `require` and `__dirname`, which
 * bundled code does not have, and better-sqlite3 12's search tries a dozen paths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Sqlite12 from 'better-sqlite3';
import Sqlite13 from 'better-sqlite3-napi';
import { ExitCode, RalphError } from '../errors.js';

const require = createRequire(import.meta.url);
const napi = Number(process.versions.node.split('.')[0]) >= 22;
const packageName = napi ? 'better-sqlite3-napi' : 'better-sqlite3';

// Both are imported, statically: loading either one's JavaScript loads no addon. (Not a top-level await of
// the one needed: in the bundle, that import can close a cycle of chunks, and a module awaiting a chunk that
// waits for it never finishes: Node then exits 13 with nothing printed.)
export const Database: typeof Sqlite12 = napi ? Sqlite13 : Sqlite12;

/**
 * Where the package keeps its compiled addon: built from source (node-gyp), else (13 only) the prebuilt one
 * for this platform, whose name says whether it is for musl's C library.
 */
function addonCandidates(packageDir: string): string[] {
  const built = ['Release', 'Debug'].map((kind) => join(packageDir, 'build', kind, 'better_sqlite3.node'));
  if (!napi || built.some((f) => existsSync(f))) return built;
  const target = `${onMusl() ? 'linuxmusl' : process.platform}-${process.arch}`;
  return [...built, join(packageDir, 'prebuilds', `${target}.node`)];
}

/** Whether this process runs on musl's C library: its dynamic loader is mapped into the process. */
function onMusl(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return /\/ld-musl-[^/\s]*\.so/.test(readFileSync('/proc/self/maps', 'latin1'));
  } catch {
    return false;
  }
}

let addon: object | undefined;

/** The compiled addon, loaded on the first open; a clear error when the install has none. */
export function nativeBinding(): object {
  if (addon !== undefined) return addon;
  const packageDir = join(dirname(require.resolve(packageName)), '..');
  const tried = addonCandidates(packageDir);
  const file = tried.find((f) => existsSync(f));
  if (file === undefined) {
    throw new RalphError('REGISTRY_UNAVAILABLE', `${packageName} has no compiled addon for this Node.js`, {
      exitCode: ExitCode.unavailable,
      hint: `looked for ${tried.join(', ')}; reinstall ralph or run \`npm rebuild ${packageName}\``,
    });
  }
  addon = require(file) as object;
  return addon;
}
