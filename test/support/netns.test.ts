import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsTestsEnabled, type Netns } from './netns.js';
import { waitFor } from './wait.js';

/** A node one-liner run inside the namespace: connects to host:port, prints what it reads, or FAIL:<code>. */
const PROBE = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 4000 });
s.on('data', (d) => { process.stdout.write(String(d)); s.destroy(); });
s.on('timeout', () => { process.stdout.write('FAIL:TIMEOUT'); s.destroy(); });
s.on('error', (e) => process.stdout.write('FAIL:' + e.code));
`;

describe.skipIf(!netnsTestsEnabled())('network namespace with a veth pair', () => {
  let ns: Netns;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    ns = createNetns();
    server = createServer((socket) => socket.end('hello from the root namespace'));
    await new Promise<void>((resolve) => server.listen(0, ns.hostAddress, resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    server?.close();
    await ns?.destroy();
  });

  const probe = (host: string): Promise<string> =>
    ns.run(process.execPath, ['-e', PROBE, host, String(port)], { timeoutMs: 10_000 });

  it('has only the veth route and reaches the root side through it', async () => {
    const routes = ns.exec('ip', ['route', 'show']);
    expect(routes).not.toMatch(/default/);
    expect(routes).toContain(ns.nsIf);
    expect(await probe(ns.hostAddress)).toBe('hello from the root namespace');
    // The root namespace's loopback is not the namespace's loopback.
    expect(await probe('127.0.0.1')).toMatch(/^FAIL:/);
  });

  it('cut() drops the link and restore() brings it back', async () => {
    ns.cut();
    try {
      expect(await probe(ns.hostAddress)).toMatch(/^FAIL:/);
    } finally {
      ns.restore();
    }
    expect(await probe(ns.hostAddress)).toBe('hello from the root namespace');
  });

  it('destroy() ends the processes started inside and removes the namespace and the veth', async () => {
    const other = createNetns();
    expect(other.name).not.toBe(ns.name);
    expect(other.hostAddress).not.toBe(ns.hostAddress);
    const child = other.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await waitFor(() => other.pids().includes(child.pid ?? -1), 'the sleeper to run in the namespace');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await other.destroy();
    await exited;
    expect(existsSync(`/run/netns/${other.name}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${other.hostIf}`)).toBe(false);
  });
});
