/**
 * The link on its own, in this process, over a real Unix socket in a temporary RALPH_HOME: who can reach it
 * (folder and socket modes; a real second Unix user is refused by the kernel), one instance per user (a live
 * link is never replaced, a stale socket is), bad input answered with clear errors while the connection keeps
 * serving, a client that never reads costs only itself, a remote that cannot be reached answers REMOTE_FAILED
 * with the words `ralph status` prints, and the link stops by itself when idle or when its socket is replaced.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ralphPaths, type RalphPaths } from '../../src/config/paths.js';
import { closeZitiContexts } from '../../src/client/remote/contexts.js';
import { linkLister } from '../../src/client/remote/link/ask.js';
import { LinkClient } from '../../src/client/remote/link/client.js';
import { linkMethods } from '../../src/client/remote/link/methods.js';
import { linkDir, linkSocketPath } from '../../src/client/remote/link/paths.js';
import { DaemonPool } from '../../src/client/remote/link/pool.js';
import { startLink, type Link } from '../../src/client/remote/link/server.js';
import { RpcError } from '../../src/protocol/errors.js';
import type { MethodSpec } from '../../src/protocol/spec.js';
import { createOtherUser, skipWithoutOtherUser } from '../support/other-user.js';
import { waitFor, within } from '../support/wait.js';
import { writeIdentity } from '../remote/identities.js';

const roots: string[] = [];
const links: Link[] = [];

afterEach(async () => {
  for (const link of links.splice(0)) await link.stop('test over');
  await closeZitiContexts();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function home(): { root: string; paths: RalphPaths } {
  const root = mkdtempSync(join(tmpdir(), 'rlink-'));
  roots.push(root);
  return { root, paths: ralphPaths({ RALPH_HOME: join(root, 'h') }) };
}

async function link(paths: RalphPaths, idleMs = 60_000): Promise<Link> {
  const started = await startLink({ paths, idleMs, validateResults: true });
  links.push(started);
  return started;
}

async function client(paths: RalphPaths): Promise<LinkClient> {
  const found = await LinkClient.connect(paths, { helloTimeoutMs: 2000 });
  if (found.link === undefined) throw new Error(`no link: ${found.unavailable} ${found.detail}`);
  return found.link;
}

/** A raw connection that skips every client-side check; collects every line the link sends. */
function raw(path: string): Promise<{ socket: Socket; lines: unknown[] }> {
  return within(
    new Promise((resolve, reject) => {
      const lines: unknown[] = [];
      let rest = '';
      const socket = connect({ path }, () => resolve({ socket, lines }));
      socket.on('data', (d: Buffer) => {
        const parts = (rest + d.toString()).split('\n');
        rest = parts.pop()!;
        for (const part of parts) lines.push(JSON.parse(part));
      });
      socket.once('error', reject);
    }),
    'a raw connection',
  );
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('the link, served in this process', () => {
  it('every method example passes its own schemas', () => {
    for (const [name, spec] of Object.entries(linkMethods as Record<string, MethodSpec>)) {
      expect(spec.params.safeParse(spec.example.params).success, name).toBe(true);
      expect(spec.result.safeParse(spec.example.result).success, name).toBe(true);
    }
  });

  it('lives in a 0700 folder of the run directory with a 0600 socket, and greets with its build', async () => {
    const { paths } = home();
    const l = await link(paths);
    expect(l.socket).toBe(linkSocketPath(paths));
    expect(mode(paths.runDir)).toBe(0o700);
    expect(mode(linkDir(paths))).toBe(0o700);
    expect(statSync(l.socket).isSocket()).toBe(true);
    expect(mode(l.socket)).toBe(0o600);
    const c = await client(paths);
    expect(c.hello.pid).toBe(process.pid);
    const status = await c.status();
    expect(status).toMatchObject({ pid: process.pid, clients: 1, remotes: [], socket: l.socket });
    c.close();
  });

  it('one per user: a second link on a live socket is refused and the first keeps serving', async () => {
    const { paths } = home();
    await link(paths);
    await expect(startLink({ paths, idleMs: 60_000 })).rejects.toMatchObject({ code: 'SOCKET_IN_USE' });
    const c = await client(paths);
    expect((await c.status()).pid).toBe(process.pid);
    c.close();
  });

  it('replaces a stale socket left by a link that was killed', async () => {
    const { paths } = home();
    mkdirSync(linkDir(paths), { recursive: true, mode: 0o700 });
    const path = linkSocketPath(paths);
    // A process that listens there and dies without cleaning up leaves the socket file behind.
    const holder = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await waitFor(() => holder.stdout.read() !== null, 'the holder to listen');
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(statSync(path).isSocket()).toBe(true);
    const before = await LinkClient.connect(paths);
    expect(before.unavailable).toBe('absent');
    await link(paths);
    const c = await client(paths);
    expect((await c.status()).pid).toBe(process.pid);
    c.close();
  });

  it('answers bad input with clear errors and keeps serving the connection', async () => {
    const { paths } = home();
    const l = await link(paths);
    const { socket, lines } = await raw(l.socket);
    const good = { name: 'vps1', identity: '/x/laptop.json', service: 'ralph-vps1' };
    const send = (msg: unknown): boolean =>
      socket.write(`${typeof msg === 'string' ? msg : JSON.stringify(msg)}\n`);
    send('{not json');
    send({ jsonrpc: '2.0', id: 1, method: 'start_loop', params: {} });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'daemon_call',
      params: { remote: good, method: 'stop_loop', timeout_ms: 100 },
    });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'daemon_call',
      params: { remote: { ...good, name: 'has space' }, method: 'list_loops', timeout_ms: 100 },
    });
    send({
      jsonrpc: '2.0',
      id: 4,
      method: 'daemon_call',
      params: { remote: { ...good, identity: 'relative.json' }, method: 'list_loops', timeout_ms: 0 },
    });
    send({ jsonrpc: '2.0', id: 5, method: 'link_status', params: {} });
    await waitFor(() => lines.length >= 7, 'six answers after the greeting');
    socket.destroy();
    type Line = {
      id?: number | null;
      method?: string;
      error?: { code: number; message: string };
      result?: unknown;
    };
    const [hello, ...answers] = lines as Line[];
    expect(hello?.method).toBe('link_hello');
    const byId = (id: number | null): Line | undefined => answers.find((a) => a.id === id);
    expect(byId(null)?.error?.code).toBe(-32700);
    expect(byId(1)?.error).toMatchObject({ code: -32601, message: expect.stringContaining('start_loop') });
    expect(byId(2)?.error).toMatchObject({ code: -32602, message: expect.stringContaining('method') });
    expect(byId(3)?.error).toMatchObject({ code: -32602, message: expect.stringContaining('name') });
    expect(byId(4)?.error?.code).toBe(-32602);
    expect(byId(4)?.error?.message).toMatch(/identity|timeout_ms/);
    expect(byId(5)?.result).toMatchObject({ pid: process.pid });
  });

  it('a client that never reads does not hold up another one', async () => {
    const { paths } = home();
    const l = await link(paths);
    const { socket: hog } = await raw(l.socket);
    hog.pause();
    const request = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'link_status', params: {} })}\n`;
    // Far more answers than the socket buffers hold, never read.
    const burst = request.repeat(20_000);
    hog.write(burst);
    const c = await client(paths);
    for (let i = 0; i < 5; i++) expect((await c.status(5000)).pid).toBe(process.pid);
    c.close();
    hog.destroy();
  });

  it('a remote it cannot reach answers REMOTE_FAILED with the reason status prints', async () => {
    const { root, paths } = home();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const identity = await writeIdentity(root, 'down', `https://127.0.0.1:${port}`);
    await link(paths);
    const c = await client(paths);
    const err = await c
      .daemonCall({ name: 'down', identity, service: 'ralph-down' }, 'list_loops', 3000)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).kind).toBe('REMOTE_FAILED');
    expect((err as RpcError).message).toMatch(/^cannot reach remote down \(ralph-down\)|^remote down: /);
    expect((err as RpcError).data).toMatchObject({ remote: 'down' });
    const status = await c.status();
    expect(status.remotes).toMatchObject([{ name: 'down', state: 'closed', calls: 1 }]);
    expect(status.remotes[0]?.last_error).toBe((err as RpcError).message);
    c.close();
  });

  it("a remote that never answers fails each call at that call's own timeout, not an earlier open's", async () => {
    const { root } = home();
    const held: Socket[] = [];
    const hole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const port = (hole.address() as { port: number }).port;
    const identity = await writeIdentity(root, 'hole', `https://127.0.0.1:${port}`);
    const remote = { name: 'hole', identity, service: 'ralph-hole' };
    // Opens give up after 400 ms here (10 s in a real link): a call made while an earlier open is about to
    // give up must not answer with that open's failure.
    const pool = new DaemonPool({ openTimeoutMs: 400 });
    try {
      const first = await pool.call(remote, 'list_loops', 200).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(first?.message).toBe('cannot reach remote hole (ralph-hole): no answer within 200 ms');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = await pool.call(remote, 'list_loops', 1200).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(second?.message).toBe('cannot reach remote hole (ralph-hole): no answer within 1200 ms');
    } finally {
      pool.close();
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });

  it('a command that gave up on a remote does not then ask it directly', async () => {
    const { root, paths } = home();
    const held: Socket[] = [];
    const hole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const port = (hole.address() as { port: number }).port;
    const identity = await writeIdentity(root, 'hole', `https://127.0.0.1:${port}`);
    await link(paths);
    let direct = 0;
    const via = await linkLister(paths, () => {
      direct += 1;
      return Promise.resolve([]);
    });
    try {
      expect(via).not.toBeNull();
      const asked = via!.list({ name: 'hole', identity, service: 'ralph-hole' }, Date.now() + 300);
      // The caller's own timeout passes (as askRemotes' does) and it closes the link connection.
      await new Promise((resolve) => setTimeout(resolve, 300));
      via!.close();
      await expect(asked).rejects.toThrow(/connection closed/);
      expect(direct).toBe(0);
    } finally {
      via?.close();
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });

  it('stops by itself once idle with no client, not while one is connected', async () => {
    const { paths } = home();
    const l = await link(paths, 150);
    const c = await client(paths);
    // Several idle periods pass with the client connected: it still answers.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await c.status()).idle_exit_ms).toBe(150);
    c.close();
    expect(await within(l.done, 'the idle link to stop', 10_000)).toBe('no client for 150 ms');
    expect(() => statSync(l.socket)).toThrow();
  });

  it('stops when its socket is removed, and leaves a socket that replaced it alone', async () => {
    const { paths } = home();
    const l = await link(paths);
    unlinkSync(l.socket);
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(l.socket, resolve));
    try {
      expect(await within(l.done, 'the link to notice', 10_000)).toBe('its socket was removed or replaced');
      expect(statSync(l.socket).isSocket()).toBe(true);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('a client refuses a link folder other users could write to, and sends nothing', async () => {
    const { paths } = home();
    await link(paths);
    chmodSync(linkDir(paths), 0o777);
    try {
      const found = await LinkClient.connect(paths);
      expect(found.unavailable).toBe('untrusted');
      expect(found.detail).toMatch(/refusing to connect/);
    } finally {
      chmodSync(linkDir(paths), 0o700);
    }
  });
});

describe.skipIf(skipWithoutOtherUser('link socket tests (test/client/link-server.test.ts)'))(
  'the link and another local user',
  () => {
    it('another user cannot connect: refused by the folder, and by the socket itself', async () => {
      const { root, paths } = home();
      const l = await link(paths);
      const other = createOtherUser();
      try {
        // Every folder above the run folder may be entered: only the run folder (0700) stands in the way.
        for (const dir of [root, join(root, 'h')]) chmodSync(dir, 0o711);
        const node = other.node(root);
        const tryConnect = (): { status: number | null; stdout: string } => {
          const out = other.run(node, [
            '-e',
            `const s = require('node:net').connect(${JSON.stringify(l.socket)});` +
              `s.on('connect', () => { console.log('connected'); s.destroy(); });` +
              `s.on('error', (e) => { console.log(e.code); });`,
          ]);
          return { status: out.status, stdout: out.stdout.trim() };
        };
        expect(tryConnect().stdout).toBe('EACCES');
        // Even with the link's folders opened for search, the socket's own mode (0600) refuses.
        chmodSync(paths.runDir, 0o711);
        chmodSync(linkDir(paths), 0o711);
        expect(tryConnect().stdout).toBe('EACCES');
        // This user still gets in.
        const c = await client(paths);
        expect((await c.status()).pid).toBe(process.pid);
        c.close();
      } finally {
        chmodSync(paths.runDir, 0o700);
        chmodSync(linkDir(paths), 0o700);
        other.remove();
      }
    });
  },
);
