/**
 * Every filesystem location ralph uses comes from here. `RALPH_HOME` overrides everything (tests always set
 * it); otherwise the XDG base directories are honoured. No other module may call `os.homedir()`.
 */
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { RalphError, ExitCode } from '../errors.js';

export interface RalphPaths {
  /** Persistent data: registry database, loop logs. */
  dataDir: string;
  /** Configuration: remotes, identities. */
  configDir: string;
  /** Sockets (0700). */
  runDir: string;
  /** The registry database file. */
  registryFile: string;
  /** Per-loop state: logs, iteration records. */
  loopsDir: string;
}

/** Longest Unix socket path Linux and macOS both accept (sun_path is 108 and 104 bytes, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 103;

export function ralphPaths(env: NodeJS.ProcessEnv = process.env): RalphPaths {
  const home = env.RALPH_HOME;
  if (home !== undefined && home !== '') {
    const root = resolve(home);
    return layout(join(root, 'data'), join(root, 'config'), join(root, 'run'));
  }
  const user = homedir();
  const dataHome = env.XDG_DATA_HOME || join(user, '.local', 'share');
  const configHome = env.XDG_CONFIG_HOME || join(user, '.config');
  const runtime = env.XDG_RUNTIME_DIR;
  const tmp = env.TMPDIR || tmpdir();
  const runDir = runtime ? join(runtime, 'ralph') : join(tmp, `ralph-${process.getuid?.() ?? 'user'}`);
  return layout(join(dataHome, 'ralph'), join(configHome, 'ralph'), runDir);
}

function layout(dataDir: string, configDir: string, runDir: string): RalphPaths {
  return {
    dataDir,
    configDir,
    runDir,
    registryFile: join(dataDir, 'ralph-registry.sqlite3'),
    loopsDir: join(dataDir, 'loops'),
  };
}

export { ensurePrivateDir } from './private-dir.js';

export function loopSocketPath(paths: RalphPaths, task: string): string {
  return join(paths.runDir, `${task}.sock`);
}

/** Throws a fix-it error when a socket path is too long for the platform. */
export function assertValidSocketPath(path: string): string {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new RalphError(
      'SOCKET_PATH_TOO_LONG',
      `socket path is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit: ${path}`,
      {
        exitCode: ExitCode.usage,
        hint: 'set RALPH_HOME or XDG_RUNTIME_DIR to a shorter directory, or use a shorter task name',
      },
    );
  }
  return path;
}

/** The loops folder that goes with a registry file: both live in the data folder. */
export function loopsDirFor(registryFile: string): string {
  return join(dirname(registryFile), 'loops');
}

/** What names a session's folder: its task, registry id and creation time. */
export interface SessionName {
  task: string;
  id: number;
  /** ISO-8601 UTC creation time of the registry row. */
  createdAt: string;
}

/**
 * Where one session of a loop keeps its output log, iteration records and runner log:
 * `<loops>/<task>-<id>-<created, as 20260102T030405678Z>`. Registry ids are reused once rows are pruned (or
 * the registry is replaced), so the creation time keeps every session's folder its own.
 */
export function sessionDir(paths: Pick<RalphPaths, 'loopsDir'>, session: SessionName): string {
  const created = session.createdAt.replace(/[-:.]/g, '');
  return join(paths.loopsDir, `${session.task}-${session.id}-${created}`);
}

/**
 * The folder to read a session's logs from: its own, or, for a session started by a ralph that named folders
 * `<task>-<id>`, that one. Only for reading: such a folder may hold an older session with the same id.
 * `exists` answers for a folder (a listing already read can answer instead of the file system).
 */
export function sessionLogDir(
  paths: Pick<RalphPaths, 'loopsDir'>,
  session: SessionName,
  exists: (dir: string) => boolean = existsSync,
): string {
  const dir = sessionDir(paths, session);
  if (exists(dir)) return dir;
  const legacy = join(paths.loopsDir, `${session.task}-${session.id}`);
  return exists(legacy) ? legacy : dir;
}
