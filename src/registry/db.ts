/**
 * Opening the registry database: directory and file permissions, connection pragmas, schema migration, and the
 * translation of SQLite failures into RalphErrors that name the file.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Database, nativeBinding } from './sqlite.js';
import { ensurePrivateDir, ralphPaths } from '../config/paths.js';
import { ExitCode, RalphError } from '../errors.js';
import { migrate } from './migrations.js';

/**
 * How long a connection waits for another process's write lock before giving up. Writes hold the lock for well
 * under a millisecond, but a box running dozens of runners on two busy cores can queue them for seconds; a
 * runner that gives up loses a status change, so the wait is generous.
 */
export const BUSY_TIMEOUT_MS = 15_000;

export interface OpenDatabaseOptions {
  env?: NodeJS.ProcessEnv;
}

/** Opens (creating if needed) and migrates the registry database at `file`. */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): BetterSqlite3.Database {
  const path = resolve(file);
  try {
    prepareDirectory(path, options.env ?? process.env);
  } catch (err) {
    throw folderError(err, dirname(path));
  }
  let db: BetterSqlite3.Database;
  try {
    // The package takes the loaded addon as well as a path; its type declarations name the path only.
    db = new Database(path, {
      timeout: BUSY_TIMEOUT_MS,
      nativeBinding: nativeBinding() as unknown as string,
    });
  } catch (err) {
    throw toRegistryError(err, path);
  }
  try {
    restrictFileMode(path);
    // One call for the connection's settings: each pragma() call prepares and runs a statement of its own.
    db.exec(
      `PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; ` +
        'PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;',
    );
    migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    throw toRegistryError(err, path);
  }
}

/**
 * The ralph data directory is created (or tightened) to 0700. A file elsewhere gets its missing parent
 * directories created 0700, but an existing directory that is not ours to manage is left alone.
 */
function prepareDirectory(path: string, env: NodeJS.ProcessEnv): void {
  const dir = dirname(path);
  if (dir === resolve(ralphPaths(env).dataDir)) {
    ensurePrivateDir(dir);
  } else if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}

/** A registry folder that cannot be made or used (a file in the way, another user's folder): one clear line. */
function folderError(err: unknown, dir: string): unknown {
  if (err instanceof RalphError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOTDIR' || code === 'EEXIST'
      ? 'a file is in the way of this folder'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : undefined;
  if (why === undefined && code === undefined) return err;
  return new RalphError(
    'REGISTRY_UNAVAILABLE',
    `cannot use registry folder ${dir}: ${why ?? (err as Error).message}`,
    {
      exitCode: ExitCode.unavailable,
      hint:
        code === 'ENOTDIR' || code === 'EEXIST'
          ? 'RALPH_HOME (or XDG_DATA_HOME) must name a folder, not a file'
          : 'the folder must belong to you and be readable and writable by you',
      cause: err,
    },
  );
}

/** The database holds socket paths and identity file names: owner-only. WAL and SHM files inherit this mode. */
function restrictFileMode(path: string): void {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(path, st.mode & 0o700);
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** Turns a SQLite failure into a RalphError naming the registry file; anything else passes through unchanged. */
export function toRegistryError(err: unknown, file: string): unknown {
  if (err instanceof RalphError) return err;
  const code = sqliteCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code === undefined) {
    if (err instanceof TypeError && /directory does not exist/.test(detail)) {
      return new RalphError('REGISTRY_UNAVAILABLE', `cannot open registry ${file}: ${detail}`, {
        exitCode: ExitCode.unavailable,
        cause: err,
      });
    }
    return err;
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new RalphError(
      'REGISTRY_CORRUPT',
      `registry ${file} is not a usable SQLite database (${detail})`,
      {
        hint: `move ${file} aside; ralph creates a fresh registry on the next run`,
        exitCode: ExitCode.failure,
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new RalphError(
      'REGISTRY_BUSY',
      `registry ${file} stayed locked by another process for over ${BUSY_TIMEOUT_MS} ms`,
      {
        hint: 'retry; if it persists, look for a stuck ralph process',
        exitCode: ExitCode.unavailable,
        cause: err,
      },
    );
  }
  if (/^SQLITE_(CANTOPEN|READONLY|IOERR|PERM|FULL|AUTH)/.test(code)) {
    return new RalphError('REGISTRY_UNAVAILABLE', `cannot use registry ${file}: ${detail}`, {
      exitCode: ExitCode.unavailable,
      cause: err,
    });
  }
  return err;
}
