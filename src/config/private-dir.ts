/**
 * Directories only this user may touch, created and checked the way OpenSSH and tmux treat their socket
 * directories: made with mkdir 0700, opened without following a symlink, then refused unless they belong to
 * the effective user and nobody else can write to them. Another local user who got there first (a symlink
 * to a folder of theirs, a folder they own, a folder anyone can write to) gets a refusal, never a chmod.
 */
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, RalphError } from '../errors.js';

const GROUP_OR_OTHER_WRITE = 0o022;
const OTHER_WRITE = 0o002;
const STICKY = 0o1000;

/** The effective user id, or undefined where the platform has none (Windows): then nothing is checked. */
function euid(): number | undefined {
  return process.geteuid?.();
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function unsafeDirectory(dir: string, why: string, hint?: string): RalphError {
  return new RalphError('UNSAFE_DIRECTORY', `refusing to use ${dir}: ${why}`, {
    exitCode: ExitCode.conflict,
    hint:
      hint ??
      `another user may have prepared it; remove it (as root if needed) or set RALPH_HOME or XDG_RUNTIME_DIR to a folder of your own`,
  });
}

function describeMode(mode: number): string {
  return `mode ${(mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** Why a directory's owner or mode makes it unsafe, or null. `owners` are the acceptable uids. */
function directoryProblem(st: Stats, owners: readonly number[]): string | null {
  if (!st.isDirectory()) return 'it is not a directory';
  if (!owners.includes(st.uid)) return `it is owned by uid ${st.uid}, not by uid ${owners[0]}`;
  if ((st.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    return `other users can write to it (${describeMode(st.mode)})`;
  }
  return null;
}

/** The folder that holds `dir` must not let other users rename or replace it (writable by all, not sticky). */
function checkParent(dir: string): void {
  const parent = dirname(dir);
  const st = statSync(parent, { throwIfNoEntry: false });
  if (st === undefined) return;
  if ((st.mode & OTHER_WRITE) !== 0 && (st.mode & STICKY) === 0) {
    throw unsafeDirectory(
      dir,
      `its parent ${parent} can be written by any user and has no sticky bit (${describeMode(st.mode)})`,
      `chmod +t ${parent}, or set RALPH_HOME or XDG_RUNTIME_DIR to a folder of your own`,
    );
  }
}

/** Opens `dir` itself, never a symlink's target; explains a symlink or a non-directory. */
function openNoFollow(dir: string): number {
  try {
    return openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = codeOf(err);
    if (code !== 'ELOOP' && code !== 'ENOTDIR' && code !== 'EMLINK') throw err;
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) throw unsafeDirectory(dir, 'it is a symbolic link');
    throw unsafeDirectory(dir, 'it is not a directory', 'move that file away, or set RALPH_HOME');
  }
}

/**
 * Creates `dir` (mode 0700) or checks an existing one: it must be a real directory (not a symlink), owned by
 * the effective user, and not writable by group or others; read or search bits for others are removed.
 * Missing parents are created 0700. Throws UNSAFE_DIRECTORY (exit code 4) with a hint otherwise.
 */
export function ensurePrivateDir(dir: string): string {
  const uid = euid();
  if (!existsSync(dirname(dir))) mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  if (uid !== undefined) checkParent(dir);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (codeOf(err) !== 'EEXIST') throw err;
  }
  if (uid === undefined) return dir;
  const fd = openNoFollow(dir);
  try {
    const st = fstatSync(fd);
    const problem = directoryProblem(st, [uid]);
    if (problem !== null) {
      const own = st.uid === uid;
      throw unsafeDirectory(
        dir,
        problem,
        own ? `if you made it so, chmod 700 ${dir}; else remove it` : undefined,
      );
    }
    if ((st.mode & 0o777) !== 0o700) fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
  return dir;
}

/**
 * The client's check before it sends a byte to a socket: the socket and the directory holding it belong to this
 * user (or root), the directory is writable by nobody else, and the file is a socket. A missing directory or
 * socket passes (the dial then says "not running"). Throws UNTRUSTED_SOCKET (exit code 4) otherwise.
 */
export function assertTrustedSocket(path: string): void {
  const uid = euid();
  if (uid === undefined) return;
  const owners = [uid, 0];
  const dir = dirname(path);
  const dirStat = lstatSync(dir, { throwIfNoEntry: false });
  if (dirStat === undefined) return;
  const dirProblem = dirStat.isSymbolicLink() ? 'it is a symbolic link' : directoryProblem(dirStat, owners);
  if (dirProblem !== null) throw untrustedSocket(path, `its directory ${dir} is not safe: ${dirProblem}`);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isSocket()) throw untrustedSocket(path, 'it is not a socket');
  if (!owners.includes(st.uid)) {
    throw untrustedSocket(path, `it is owned by uid ${st.uid}, not by you (uid ${uid}) or root`);
  }
}

function untrustedSocket(path: string, why: string): RalphError {
  return new RalphError('UNTRUSTED_SOCKET', `refusing to connect to ${path}: ${why}`, {
    exitCode: ExitCode.conflict,
    hint: 'another user may have put it there; nothing was sent to it. Stop and start the loop again, or check who owns that path',
  });
}
