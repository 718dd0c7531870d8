/**
 * A real second Unix user for tests of what another local user can do: created with useradd under a random
 * name, its steps run as child processes with its uid and gid (libuv drops the supplementary groups), removed
 * with userdel. Creating users needs root; where that is impossible `otherUserSupport()` names what is missing
 * and the tests skip with a visible notice.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const USERADD = ['/usr/sbin/useradd', '/sbin/useradd', '/usr/bin/useradd'];
const USERDEL = ['/usr/sbin/userdel', '/sbin/userdel', '/usr/bin/userdel'];

function executable(candidates: string[]): string | undefined {
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Null when this process can create a throwaway user, else what is missing. */
export function otherUserSupport(): string | null {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push(`root (running as uid ${process.getuid?.() ?? '?'})`);
  if (executable(USERADD) === undefined) missing.push('useradd');
  if (executable(USERDEL) === undefined) missing.push('userdel');
  return missing.length === 0 ? null : missing.join(', ');
}

/**
 * Warns (visibly, naming what is missing) and returns true when the tests that need a second user must skip.
 * With RALPH_REQUIRE_OTHER_USER=1 (CI as root) a missing prerequisite fails instead of skipping.
 */
export function skipWithoutOtherUser(what: string): boolean {
  const missing = otherUserSupport();
  if (missing === null) return false;
  const notice = `${what}: skipped, creating a second Unix user needs ${missing}`;
  if (process.env.RALPH_REQUIRE_OTHER_USER === '1') throw new Error(notice);
  console.warn(notice);
  return true;
}

export interface OtherUser {
  name: string;
  uid: number;
  gid: number;
  /** Runs a program as this user and waits for it. */
  run(file: string, args: string[]): SpawnSyncReturns<string>;
  /** Runs a program as this user; `check` throws unless it exited 0. */
  check(file: string, args: string[]): string;
  /** Starts a long-running program as this user. */
  spawn(file: string, args: string[]): ChildProcess;
  /**
   * A Node binary this user can run: this process's own, or (when it lives in a folder the user cannot enter,
   * such as /root) a copy in `dir`.
   */
  node(dir: string): string;
  remove(): void;
}

function idOf(flag: '-u' | '-g', name: string): number {
  const out = spawnSync('id', [flag, name], { encoding: 'utf8', timeout: 10_000 });
  const id = Number(out.stdout.trim());
  if (out.status !== 0 || !Number.isInteger(id)) throw new Error(`id ${flag} ${name}: ${out.stderr}`);
  return id;
}

/** useradd holds a lock on /etc/passwd: a parallel test file may hold it for a moment, so retry a few times. */
function retry(file: string, args: string[]): void {
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const out = spawnSync(file, args, { encoding: 'utf8', timeout: 20_000 });
    if (out.status === 0) return;
    last = `${file} ${args.join(' ')} exited ${out.status}: ${out.stderr}`;
    spawnSync('sleep', ['0.3']);
  }
  throw new Error(last);
}

export function createOtherUser(): OtherUser {
  const name = `rt${randomBytes(5).toString('hex')}`;
  retry(executable(USERADD)!, ['--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
  const uid = idOf('-u', name);
  const gid = idOf('-g', name);
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent', LANG: 'C' };
  const as = { uid, gid, env, cwd: '/' };
  let removed = false;
  const user: OtherUser = {
    name,
    uid,
    gid,
    run: (file, args) => spawnSync(file, args, { ...as, encoding: 'utf8', timeout: 20_000 }),
    check: (file, args) => {
      const out = user.run(file, args);
      if (out.status !== 0) {
        throw new Error(`as ${name}: ${file} ${args.join(' ')} exited ${out.status}: ${out.stderr}`);
      }
      return out.stdout;
    },
    spawn: (file, args) => spawn(file, args, { ...as, stdio: ['ignore', 'pipe', 'pipe'] }),
    node: (dir) => {
      if (user.run(process.execPath, ['-e', '0']).status === 0) return process.execPath;
      const copy = join(dir, 'node');
      copyFileSync(process.execPath, copy);
      chmodSync(copy, 0o755);
      return copy;
    },
    remove: () => {
      if (removed) return;
      removed = true;
      retry(executable(USERDEL)!, [name]);
    },
  };
  return user;
}
