/**
 * The SQLite binding for this Node.js. better-sqlite3 12 is built against Node's own C++ API, whose object
 * wrappers abort the process on Node 24 when a statement is destroyed outside a context (at exit or during
 * garbage collection); better-sqlite3 13 uses Node-API and is safe there, but needs Node 22 or newer. Both are
 * installed; each Node gets the one that works on it.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

export const Database: typeof BetterSqlite3 = require(
  major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3',
) as typeof BetterSqlite3;
