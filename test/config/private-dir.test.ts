/**
 * ensurePrivateDir and assertTrustedSocket on real folders, symlinks and sockets. The cases that need a
 * folder or socket of another owner use chown (root only); the takeover by a real second user is in
 * test/cli/run-dir-takeover.test.ts and test/client/socket-owner.test.ts.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertTrustedSocket, ensurePrivateDir } from '../../src/config/private-dir.js';
import { RalphError } from '../../src/errors.js';

const isRoot = process.geteuid?.() === 0;
const NOBODY = 65534;
let base: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'ralph-private-'));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function thrown(fn: () => unknown): RalphError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RalphError);
    return err as RalphError;
  }
  throw new Error('expected an error');
}

/** A socket file whose listener is gone (a child listens, then is killed). */
function socketFile(path: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
  expect(lstatSync(path).isSocket()).toBe(true);
}

describe('ensurePrivateDir', () => {
  it('creates a missing folder (and its parents) 0700', () => {
    const dir = join(base, 'a', 'b', 'run');
    expect(ensurePrivateDir(dir)).toBe(dir);
    expect(statSync(dir).mode & 0o7777).toBe(0o700);
    expect(statSync(join(base, 'a')).mode & 0o777).toBe(0o700);
  });

  it('tightens a folder of its own that others can only read', () => {
    const dir = join(base, 'run');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    ensurePrivateDir(dir);
    expect(statSync(dir).mode & 0o7777).toBe(0o700);
  });

  it('refuses a symlink, even to a folder of its own, and leaves the target alone', () => {
    const target = join(base, 'target');
    mkdirSync(target);
    chmodSync(target, 0o755);
    symlinkSync(target, join(base, 'run'));
    const err = thrown(() => ensurePrivateDir(join(base, 'run')));
    expect(err.code).toBe('UNSAFE_DIRECTORY');
    expect(err.exitCode).toBe(4);
    expect(err.message).toBe(`refusing to use ${join(base, 'run')}: it is a symbolic link`);
    expect(err.hint).toMatch(/RALPH_HOME or XDG_RUNTIME_DIR/);
    expect(statSync(target).mode & 0o777).toBe(0o755);
  });

  it('refuses a folder others can write to, instead of tightening it', () => {
    const dir = join(base, 'run');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const err = thrown(() => ensurePrivateDir(dir));
    expect(err.message).toBe(`refusing to use ${dir}: other users can write to it (mode 0777)`);
    expect(err.hint).toBe(`if you made it so, chmod 700 ${dir}; else remove it`);
    chmodSync(dir, 0o770);
    expect(thrown(() => ensurePrivateDir(dir)).message).toMatch(/other users can write to it \(mode 0770\)/);
    expect(statSync(dir).mode & 0o777).toBe(0o770);
  });

  it('refuses a file where the folder should be', () => {
    writeFileSync(join(base, 'run'), 'x');
    expect(thrown(() => ensurePrivateDir(join(base, 'run'))).message).toMatch(/it is not a directory$/);
  });

  it('refuses a folder whose parent anyone can write to without the sticky bit, and accepts a sticky one', () => {
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const err = thrown(() => ensurePrivateDir(join(open, 'run')));
    expect(err.message).toMatch(/its parent .*open can be written by any user and has no sticky bit/);
    expect(err.hint).toMatch(/chmod \+t/);
    chmodSync(open, 0o1777);
    expect(ensurePrivateDir(join(open, 'run'))).toBe(join(open, 'run'));
  });

  it.skipIf(!isRoot)('refuses a folder owned by another user, and does not chmod it', () => {
    const dir = join(base, 'run');
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, NOBODY, NOBODY);
    const err = thrown(() => ensurePrivateDir(dir));
    expect(err.message).toBe(`refusing to use ${dir}: it is owned by uid ${NOBODY}, not by uid 0`);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });
});

describe('assertTrustedSocket', () => {
  it('accepts its own socket in its own private folder, and a path that does not exist yet', () => {
    const run = ensurePrivateDir(join(base, 'run'));
    socketFile(join(run, 'a.sock'));
    expect(() => assertTrustedSocket(join(run, 'a.sock'))).not.toThrow();
    expect(() => assertTrustedSocket(join(run, 'absent.sock'))).not.toThrow();
    expect(() => assertTrustedSocket(join(base, 'nowhere', 'a.sock'))).not.toThrow();
  });

  it('refuses a file that is not a socket', () => {
    const run = ensurePrivateDir(join(base, 'run'));
    writeFileSync(join(run, 'a.sock'), '');
    const err = thrown(() => assertTrustedSocket(join(run, 'a.sock')));
    expect(err.code).toBe('UNTRUSTED_SOCKET');
    expect(err.message).toBe(`refusing to connect to ${join(run, 'a.sock')}: it is not a socket`);
  });

  it('refuses a socket in a folder others can write to, or behind a symlinked folder', () => {
    const open = join(base, 'open');
    mkdirSync(open);
    socketFile(join(open, 'a.sock'));
    chmodSync(open, 0o1777);
    expect(thrown(() => assertTrustedSocket(join(open, 'a.sock'))).message).toMatch(
      /its directory .*open is not safe: other users can write to it \(mode 1777\)$/,
    );
    symlinkSync(open, join(base, 'link'));
    expect(thrown(() => assertTrustedSocket(join(base, 'link', 'a.sock'))).message).toMatch(
      /its directory .*link is not safe: it is a symbolic link$/,
    );
  });

  it.skipIf(!isRoot)('refuses a socket owned by another user', () => {
    const run = ensurePrivateDir(join(base, 'run'));
    socketFile(join(run, 'a.sock'));
    lchownSync(join(run, 'a.sock'), NOBODY, NOBODY);
    expect(thrown(() => assertTrustedSocket(join(run, 'a.sock'))).message).toMatch(
      new RegExp(`it is owned by uid ${NOBODY}, not by you \\(uid 0\\) or root$`),
    );
  });
});
