/**
 * The SQLite binding for this Node.js. better-sqlite3 12 is built against Node's own C++ API, whose object
 * wrappers abort the process on Node 24 when a statement is destroyed outside a context (at exit or during
 * garbage collection); better-sqlite3 13 uses Node-API and is safe there, but needs Node 22 or newer. Both are
 * installed; each Node gets the one that works on it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);
const packageName = major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';

export const Database: typeof BetterSqlite3 = require(packageName) as typeof BetterSqlite3;

/**
 * better-sqlite3 12 looks for its compiled addon with the `bindings` package, which tries a dozen paths
 * (about 3 ms of every `ralph status`). Where node-gyp put it is known; pass it as `nativeBinding` when it is
 * there, and let the package search when it is not. better-sqlite3 13 looks in two places only.
 */
export const nativeBinding: string | undefined = ((): string | undefined => {
  if (packageName !== 'better-sqlite3') return undefined;
  const file = join(dirname(require.resolve(packageName)), '..', 'build', 'Release', 'better_sqlite3.node');
  return existsSync(file) ? file : undefined;
})();
