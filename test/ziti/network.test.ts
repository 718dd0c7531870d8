/**
 * The OpenZiti test network itself: start-up, provisioning, loopback-only listeners, a real data
 * path through the edge router, router restart and teardown. Skipped with a notice when there is
 * no `ziti` CLI (fails instead with RALPH_REQUIRE_ZITI=1).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoServer } from './echo-server.js';
import type { EchoServer } from './echo-server.js';
import {
  TESTNET_ENV,
  acquireTestNetwork,
  findZitiBinary,
  loadTestNetwork,
  startTestNetwork,
  zitiTestsEnabled,
} from './network.js';
import type { TestNetwork } from './network.js';

interface ListResult<T> {
  data: T[];
}

async function list<T>(net: TestNetwork, args: string[]): Promise<T[]> {
  const out = await net.ziti(['edge', 'list', ...args, '--output-json']);
  return (JSON.parse(out) as ListResult<T>).data;
}

function pidOf(file: string): number {
  return Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on `port`. */
function listenersOn(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) found.push(local.slice(0, -5));
    }
  }
  return found;
}

describe('test network without a ziti CLI', () => {
  it('reports the missing CLI with the install command and starts nothing', async () => {
    expect(findZitiBinary({ RALPH_ZITI_BIN: '/nonexistent/ziti', PATH: '' })).toBeNull();
    expect(zitiTestsEnabled({ RALPH_ZITI_BIN: '/nonexistent/ziti', PATH: '', RALPH_REQUIRE_ZITI: '1' })).toBe(
      true,
    );
    const saved = process.env.RALPH_ZITI_BIN;
    process.env.RALPH_ZITI_BIN = '/nonexistent/ziti';
    try {
      await expect(startTestNetwork()).rejects.toMatchObject({
        code: 'ZITI_NOT_FOUND',
        message: expect.stringContaining('scripts/install-ziti.sh'),
      });
    } finally {
      if (saved === undefined) delete process.env.RALPH_ZITI_BIN;
      else process.env.RALPH_ZITI_BIN = saved;
    }
  });

  it('stops and deletes everything when the controller exits during start-up', async () => {
    const savedTmp = process.env.TMPDIR;
    const tmp = mkdtempSync(join(tmpdir(), 'ralph-ziti-fail-'));
    process.env.TMPDIR = tmp;
    try {
      // /bin/false stands in for a ziti CLI whose controller exits at once.
      await expect(startTestNetwork({ bin: '/bin/false', timeoutMs: 20_000 })).rejects.toMatchObject({
        code: 'ZITI_PROCESS_EXITED',
        message: expect.stringContaining('ziti edge quickstart exited early'),
      });
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!zitiTestsEnabled())('the ziti test network', () => {
  let net: TestNetwork;

  beforeAll(async () => {
    net = await acquireTestNetwork();
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  it('enrolls every identity into an identity file for the controller', () => {
    const { server, client, outsider, gotunnel } = net.identities;
    for (const identity of [server, client, outsider, gotunnel]) {
      const doc = JSON.parse(readFileSync(identity.file, 'utf8'));
      expect(doc.ztAPI).toBe(`${net.ctrlUrl}/edge/client/v1`);
      expect(doc.id.cert).toContain('-----BEGIN CERTIFICATE-----');
      expect(doc.id.key).toMatch(
        identity.keyAlg === 'EC' ? /BEGIN EC PRIVATE KEY/ : /BEGIN (RSA )?PRIVATE KEY/,
      );
      expect(doc.id.ca).toContain('-----BEGIN CERTIFICATE-----');
    }
  });

  it('leaves ralph-fresh un-enrolled with a one-time-token JWT', async () => {
    const [, payload] = readFileSync(net.fresh.jwtFile, 'utf8').trim().split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    expect(claims.em).toBe('ott');
    expect(claims.iss).toContain(`127.0.0.1:${net.ctrlPort}`);
    const [fresh] = await list<{ id: string }>(net, ['identities', `name="${net.fresh.name}"`]);
    expect(fresh?.id).toBe(claims.sub);
  });

  it('provisions the services with their end-to-end encryption setting', async () => {
    const services = await list<{ name: string; encryptionRequired: boolean; configs: string[] }>(net, [
      'services',
    ]);
    const byName = new Map(services.map((s) => [s.name, s]));
    expect(byName.get(net.services.plain)?.encryptionRequired).toBe(false);
    expect(byName.get(net.services.e2ee)?.encryptionRequired).toBe(true);
    expect(byName.get(net.services.goHosted)?.configs).toHaveLength(1);
  });

  it('lets servers bind and clients dial, and gives the outsider nothing', async () => {
    const access = async (identity: string) => {
      const services = await list<{ name: string }>(net, ['identity', 'services', identity]);
      const policies = await list<{ type: string }>(net, ['identity', 'service-policies', identity]);
      return {
        services: services.map((s) => s.name).sort(),
        policyTypes: [...new Set(policies.map((p) => p.type))].sort(),
      };
    };
    // The network's own services, and no other kind of policy. Other test files running at the same time add
    // services of their own to the shared network (with the test-service attribute, so they are listed too).
    const all = Object.values(net.services).sort();
    const expectAccess = async (identity: string, policyTypes: string[]): Promise<void> => {
      const got = await access(identity);
      expect(got.services).toEqual(expect.arrayContaining(all));
      expect(got.policyTypes).toEqual(policyTypes);
    };
    await expectAccess(net.identities.server.name, ['Bind']);
    await expectAccess(net.identities.client.name, ['Dial']);
    await expectAccess(net.identities.gotunnel.name, ['Bind', 'Dial']);
    expect(await access(net.identities.outsider.name)).toEqual({ services: [], policyTypes: [] });
  });

  it('listens on loopback only', () => {
    for (const port of [net.ctrlPort, net.routerPort]) {
      const listeners = listenersOn(port);
      expect(listeners.length).toBeGreaterThan(0);
      expect(listeners.every((address) => address === '0100007F')).toBe(true);
    }
  });

  it('carries bytes from a dialing identity through the router to a hosted service', async () => {
    let echo: EchoServer | undefined;
    try {
      echo = await startEchoServer(net.goHostedTarget.port);
    } catch (err) {
      // Another test file may already run the echo server on this port; it answers the same way.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
    const host = net.spawnZiti(
      ['tunnel', 'host', '-i', net.identities.gotunnel.file, '--cli-agent=false'],
      'tunnel-host',
    );
    try {
      let terminators = 0;
      for (let i = 0; i < 100 && terminators === 0; i += 1) {
        if (i > 0) await sleep(200);
        terminators = (await list(net, ['terminators', `service.name="${net.services.goHosted}"`])).length;
      }
      expect(terminators, host.logTail()).toBeGreaterThan(0);
      const out = await net.ziti(
        ['demo', 'zcat', '-i', net.identities.client.file, `ziti:${net.services.goHosted}`],
        { input: 'ping through ziti\n', timeoutMs: 30_000 },
      );
      expect(out).toBe('ping through ziti\n');
    } finally {
      await host.stop();
      await echo?.close();
    }
  });

  it('attaches to the running network through its description file', async () => {
    const attached = loadTestNetwork(net.descriptionFile);
    expect(attached.owned).toBe(false);
    expect(attached.ctrlUrl).toBe(net.ctrlUrl);
    const [router] = await list<{ isOnline: boolean }>(attached, [
      'edge-routers',
      `name="${net.routerName}"`,
    ]);
    expect(router?.isOnline).toBe(true);
    await attached.stop();
    expect(existsSync(net.home)).toBe(true);
  });

  it('restarts the edge router on the same port', async (ctx) => {
    // Restarting a network shared by the whole run would disturb other test files.
    if (!net.owned) ctx.skip();
    const before = pidOf(`${net.home}/router.pid`);
    await net.restartRouter();
    const after = pidOf(`${net.home}/router.pid`);
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
    const [router] = await list<{ isOnline: boolean }>(net, ['edge-routers', `name="${net.routerName}"`]);
    expect(router?.isOnline).toBe(true);
    expect(listenersOn(net.routerPort)).toEqual(['0100007F']);
  });

  it('stops every process and removes its home', async (ctx) => {
    if (!net.owned) ctx.skip();
    expect(process.env[TESTNET_ENV]).toBeUndefined();
    const pids = [`${net.home}/controller.pid`, `${net.home}/router.pid`].map(pidOf);
    expect(pids.every(alive)).toBe(true);
    await net.stop();
    expect(pids.some(alive)).toBe(false);
    expect(existsSync(net.home)).toBe(false);
  });
});
