import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLines } from './json-lines.js';
import { descendants, listeningSockets } from './listening.js';

/** A child holding sockets of the given kinds, printing {"ready":{...}} once they are open. */
const HOLDER = `
const net = require('node:net');
const dgram = require('node:dgram');
const kinds = process.argv.slice(1);
const info = {};
(async () => {
  for (const kind of kinds) {
    if (kind === 'tcp') {
      const s = net.createServer();
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      info.tcp = s.address().port;
    } else if (kind === 'tcp6') {
      const s = net.createServer();
      await new Promise((r) => s.listen(0, '::1', r));
      info.tcp6 = s.address().port;
    } else if (kind === 'udp') {
      const s = dgram.createSocket('udp4');
      await new Promise((r) => s.bind(0, '127.0.0.1', r));
      info.udp = s.address().port;
    } else if (kind.startsWith('unix:')) {
      const s = net.createServer();
      await new Promise((r) => s.listen(kind.slice(5), r));
      const c = net.connect(kind.slice(5));
      await new Promise((r) => c.once('connect', r));
      info.unix = true;
    } else if (kind === 'client') {
      // An outgoing TCP connection (to a listener of this same process) is not a listening socket.
      const s = net.createServer();
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      info.client = s.address().port;
    }
  }
  process.stdout.write(JSON.stringify({ ready: info }) + '\\n');
  setInterval(() => {}, 1000);
})();
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];

async function holder(kinds: string[]): Promise<{ pid: number; info: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['-e', HOLDER, ...kinds], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const ready = await jsonLines(child.stdout).waitFor((l) => 'ready' in l, 'the socket holder', 10_000);
  return { pid: child.pid as number, info: ready.ready as Record<string, unknown> };
}

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('listening sockets from /proc', () => {
  it('finds a TCP listener, a TCP6 listener and a bound UDP socket of a process, with their ports', async () => {
    const { pid, info } = await holder(['tcp', 'tcp6', 'udp']);
    const found = listeningSockets([pid]);
    expect(found.map((s) => `${s.protocol} ${s.local}`).sort()).toEqual(
      [
        `tcp 127.0.0.1:${String(info.tcp)}`,
        `tcp6 [::1]:${String(info.tcp6)}`,
        `udp 127.0.0.1:${String(info.udp)}`,
      ].sort(),
    );
    expect(found.every((s) => s.pid === pid)).toBe(true);
  });

  it('finds sockets of this very process too', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    try {
      const found = listeningSockets([process.pid]).map((s) => s.local);
      expect(found).toContain(`127.0.0.1:${(server.address() as { port: number }).port}`);
      expect(found).toContain(`127.0.0.1:${udp.address().port}`);
    } finally {
      server.close();
      udp.close();
    }
  });

  it('finds nothing for a process with only Unix sockets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ralph-listen-'));
    dirs.push(dir);
    const { pid, info } = await holder([`unix:${join(dir, 's.sock')}`]);
    expect(info.unix).toBe(true);
    expect(listeningSockets([pid])).toEqual([]);
  });

  it('lists the descendants of a process', async () => {
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000);`,
      ],
      { stdio: 'ignore' },
    );
    children.push(parent);
    const deadline = Date.now() + 10_000;
    let kids: number[] = [];
    while (kids.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      kids = descendants(parent.pid as number);
    }
    expect(kids).toHaveLength(1);
    for (const kid of kids) process.kill(kid, 'SIGKILL');
  });
});
