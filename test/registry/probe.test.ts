/**
 * The liveness probe of a local runner's socket (src/registry/probe.ts), against real Unix sockets: one that
 * listens, one left behind by a process that was killed, a symbolic link to one, and paths that are no socket.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeUnixSocket } from '../../src/registry/probe.js';

let dir: string;
let server: Server;
const live = (): string => join(dir, 'live.sock');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ralph-probe-'));
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(live(), resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('probeUnixSocket', () => {
  it('a socket that accepts answers, directly or through a symbolic link', async () => {
    expect(await probeUnixSocket(live(), 1000)).toBe(true);
    symlinkSync(live(), join(dir, 'link.sock'));
    expect(await probeUnixSocket(join(dir, 'link.sock'), 1000)).toBe(true);
  });

  it('a socket file whose process was killed refuses', async () => {
    const path = join(dir, 'killed.sock');
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(path)).toBe(true);
    expect(await probeUnixSocket(path, 1000)).toBe(false);
  });

  it('a missing path, a path under a file, a plain file and a dangling link are no socket', async () => {
    writeFileSync(join(dir, 'plain'), 'not a socket');
    symlinkSync(join(dir, 'gone.sock'), join(dir, 'dangling.sock'));
    for (const path of [
      join(dir, 'missing.sock'),
      join(dir, 'plain', 'x.sock'),
      join(dir, 'plain'),
      join(dir, 'dangling.sock'),
    ]) {
      expect(await probeUnixSocket(path, 1000), path).toBe(false);
    }
  });

  it('a socket that never answers within the time is given the benefit of the doubt', async () => {
    // A listener whose backlog is full keeps new connections pending: inconclusive, so alive.
    const path = join(dir, 'full.sock');
    const child = spawn(process.execPath, [
      '-e',
      `const s = require('net').createServer(); s.listen({ path: ${JSON.stringify(path)}, backlog: 0 }, () => console.log('up'));`,
    ]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    try {
      child.kill('SIGSTOP');
      // Fill the backlog with connections nobody accepts; the probe's own connection then waits or is refused
      // with EAGAIN, neither of which proves the runner dead.
      const held = Array.from({ length: 8 }, () => connect({ path }).on('error', () => {}));
      const answer = await probeUnixSocket(path, 200);
      for (const socket of held) socket.destroy();
      expect(answer).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
