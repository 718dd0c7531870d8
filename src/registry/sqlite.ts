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
import type Sqlite12 from 'better-sqlite3';
import { ExitCode, RalphError } from '../errors.js';

const requireHere = createRequire(import.meta.url);
const napi = Number(process.versions.node.split('.')[0]) >= 22;
const packageName = napi ? 'better-sqlite3-napi' : 'better-sqlite3';

/**
 * The JavaScript of the one package this Node uses, loaded synchronously (loading it loads no addon). In the
 * bundle, esbuild turns each `require` of a literal name into a call of its own loader of the bundled package,
 * so only the package required here runs (evaluating the other cost Node 24 about 1.5 ms a start); run
 * unbundled, as an ES module, there is no `require`, and Node loads the package. (Not an `import()` of the
 * one needed, awaited at the top level: in the bundle, that import can close a cycle of chunks, and a module
 * awaiting a chunk that waits for it never finishes: Node then exits 13 with nothing printed.)
 */
function loadPackage(): typeof Sqlite12 {
  /* eslint-disable @typescript-eslint/no-require-imports -- see above: a literal require the bundle resolves */
  if (typeof require === 'function') {
    return (napi ? require('better-sqlite3-napi') : require('better-sqlite3')) as typeof Sqlite12;
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  return requireHere(packageName) as typeof Sqlite12;
}

export const Database: typeof Sqlite12 = loadPackage();

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

/**
 * The package's folder: the first of the folders Node would search that holds it. Asked of the file system
 * directly, since only the folder is wanted: require.resolve also reads the package's `exports` to find its
 * main file (about 1.5 ms of Node 24's resolver code, cold, on every start). Where no folder holds it,
 * require.resolve looks (and names what is missing).
 */
function installedPackageDir(): string {
  for (const dir of requireHere.resolve.paths(packageName) ?? []) {
    const candidate = join(dir, packageName);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
  }
  return join(dirname(requireHere.resolve(packageName)), '..');
}

let addon: object | undefined;

/** The compiled addon, loaded on the first open; a clear error when the install has none. */
export function nativeBinding(): object {
  if (addon !== undefined) return addon;
  const tried = addonCandidates(installedPackageDir());
  const file = tried.find((f) => existsSync(f));
  if (file === undefined) {
    throw new RalphError('REGISTRY_UNAVAILABLE', `${packageName} has no compiled addon for this Node.js`, {
      exitCode: ExitCode.unavailable,
      hint: `looked for ${tried.join(', ')}; reinstall ralph or run \`npm rebuild ${packageName}\``,
    });
  }
  addon = requireHere(file) as object;
  return addon;
}
