import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RalphError } from '../../src/errors.js';
import { dialUnix, listenUnix } from '../../src/transport/unix.js';
import type { UnixListener } from '../../src/transport/unix.js';

let dir: string;
const listeners: UnixListener[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ralph-unix-'));
});

afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close();
  rmSync(dir, { recursive: true, force: true });
});

async function echoServer(path: string): Promise<UnixListener> {
  const listener = await listenUnix(path, (socket: Duplex) => socket.pipe(socket));
  listeners.push(listener);
  return listener;
}

async function rejection(p: Promise<unknown>): Promise<RalphError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RalphError);
  return err as RalphError;
}

/** Leaves a socket file behind whose process is gone: a child listens, then is killed with SIGKILL. */
function makeStaleSocket(path: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
  expect(lstatSync(path).isSocket()).toBe(true);
}

describe('listenUnix', () => {
  it('creates the directory 0700 and the socket 0600, and serves bytes', async () => {
    const path = join(dir, 'run', 'nested', 'task.sock');
    await echoServer(path);
    expect(statSync(join(dir, 'run', 'nested')).mode & 0o777).toBe(0o700);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    const socket = await dialUnix(path);
    const echoed = new Promise<string>((resolve) =>
      socket.once('data', (b: Buffer) => resolve(b.toString())),
    );
    socket.write('ping\n');
    expect(await echoed).toBe('ping\n');
    socket.destroy();
  });

  it('tightens an existing run directory to 0700', async () => {
    const run = join(dir, 'run');
    mkdirSync(run, { mode: 0o755 });
    await echoServer(join(run, 'a.sock'));
    expect(statSync(run).mode & 0o777).toBe(0o700);
  });

  it('removes a stale socket file and listens in its place', async () => {
    const path = join(dir, 'stale.sock');
    makeStaleSocket(path);
    const logs: string[] = [];
    const listener = await listenUnix(path, (socket: Duplex) => socket.pipe(socket), {
      logger: (msg) => logs.push(msg),
    });
    listeners.push(listener);
    expect(logs).toEqual([`removing stale socket ${path}`]);
    (await dialUnix(path)).destroy();
  });

  it('refuses a socket something still answers on with SOCKET_IN_USE', async () => {
    const path = join(dir, 'live.sock');
    await echoServer(path);
    const err = await rejection(echoServer(path));
    expect(err.code).toBe('SOCKET_IN_USE');
    expect(err.message).toContain(path);
    (await dialUnix(path)).destroy();
  });

  it('refuses to replace a file that is not a socket', async () => {
    const path = join(dir, 'file.sock');
    writeFileSync(path, 'precious');
    const err = await rejection(echoServer(path));
    expect(err.code).toBe('SOCKET_PATH_OCCUPIED');
    expect(existsSync(path)).toBe(true);
  });

  it('refuses an over-long path with SOCKET_PATH_TOO_LONG and a hint', async () => {
    const path = join(dir, 'x'.repeat(120) + '.sock');
    const err = await rejection(echoServer(path));
    expect(err.code).toBe('SOCKET_PATH_TOO_LONG');
    expect(err.hint).toMatch(/RALPH_HOME/);
    expect(existsSync(path)).toBe(false);
  });

  it('describes each accepted stream with a transport-neutral peer, numbered per listener', async () => {
    const path = join(dir, 'p.sock');
    const peers: unknown[] = [];
    listeners.push(await listenUnix(path, (socket, info) => peers.push(info) && socket.end()));
    for (let i = 0; i < 2; i++) {
      const socket = await dialUnix(path);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()).resume());
    }
    expect(peers).toEqual([
      { label: 'unix#1', peer: { label: 'unix#1', transport: 'unix' } },
      { label: 'unix#2', peer: { label: 'unix#2', transport: 'unix' } },
    ]);
  });

  it('close() removes the socket file and ends open connections', async () => {
    const path = join(dir, 'c.sock');
    const listener = await listenUnix(path, () => undefined);
    const socket = await dialUnix(path);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await listener.close();
    await closed;
    expect(existsSync(path)).toBe(false);
  });
});

describe('dialUnix', () => {
  it("close() leaves alone a socket another process put in the listener's place", async () => {
    const path = join(dir, 'run', 'task.sock');
    const first = await listenUnix(path, (socket: Duplex) => socket.destroy());
    rmSync(path);
    const second = await echoServer(path);
    const inode = lstatSync(path).ino;
    await first.close();
    expect(lstatSync(path).ino).toBe(inode);
    const socket = await dialUnix(second.path);
    const echoed = new Promise<string>((resolve) =>
      socket.once('data', (b: Buffer) => resolve(b.toString())),
    );
    socket.write('still here\n');
    expect(await echoed).toBe('still here\n');
    socket.destroy();
  });

  it('says "not running" when there is no socket', async () => {
    const err = await rejection(dialUnix(join(dir, 'absent.sock')));
    expect(err.code).toBe('NOT_RUNNING');
    expect(err.message).toMatch(/^not running: no socket at /);
  });

  it('says the socket is stale when nothing listens on it', async () => {
    const path = join(dir, 'stale.sock');
    makeStaleSocket(path);
    const err = await rejection(dialUnix(path));
    expect(err.code).toBe('SOCKET_REFUSED');
    expect(err.message).toMatch(/refused .* stale socket/);
    expect(err.hint).toBeDefined();
  });

  it('refuses an over-long path before trying', async () => {
    const err = await rejection(dialUnix(join(dir, 'y'.repeat(200))));
    expect(err.code).toBe('SOCKET_PATH_TOO_LONG');
  });
});
