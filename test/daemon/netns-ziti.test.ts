/**
 * The test network the remote-daemon acceptance tests stand on: a Ziti controller and edge router listening on
 * the root side of a veth pair, a service bound from inside the network namespace (whose only route is that
 * veth), dialed from the root namespace. Cutting the link makes the bind notice and re-bind once it is back.
 * Runs the built SDK (dist/) inside the namespace: build first.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZitiContext } from '../../src/ziti/index.js';
import { jsonLines, type JsonLines } from '../support/json-lines.js';
import { createNetns, netnsTestsEnabled, type Netns } from '../support/netns.js';
import { within } from '../support/wait.js';
import { retry } from '../ziti/e2e/helpers.js';
import { startTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SDK = join(ROOT, 'dist', 'src', 'ziti', 'index.js');
const BIND = join(import.meta.dirname, 'fixtures', 'ziti-echo-bind.mjs');

async function echoOnce(ctx: ZitiContext, service: string): Promise<void> {
  const conn = await ctx.dial(service, { timeoutMs: 10_000 });
  try {
    const payload = randomBytes(64);
    const back = new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      conn.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= payload.length) resolve(got);
      });
      conn.once('error', reject);
    });
    conn.write(payload);
    expect(await within(back, 'the echo through the namespace', 10_000)).toEqual(payload);
  } finally {
    conn.destroy();
  }
}

describe.skipIf(!netnsTestsEnabled() || !zitiTestsEnabled())(
  'Ziti test network reached through a veth',
  () => {
    let ns: Netns;
    let net: TestNetwork;
    let ctx: ZitiContext;
    let bind: ReturnType<Netns['spawn']>;
    let out: JsonLines;

    beforeAll(async () => {
      if (!existsSync(SDK)) throw new Error(`${SDK} is missing: run npm run build first`);
      ns = createNetns();
      net = await startTestNetwork({ host: ns.hostAddress, timeoutMs: 180_000 });
      let stderr = '';
      bind = ns.spawn(process.execPath, [BIND, SDK, net.identities.server.file, net.services.e2ee], {
        env: { ...process.env },
      });
      bind.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      out = jsonLines(bind.stdout!, () => stderr);
      await out.waitFor((l) => 'ready' in l || 'error' in l, 'the bind inside the namespace', 60_000);
      expect(out.lines.find((l) => 'error' in l)).toBeUndefined();
      ctx = await ZitiContext.fromIdentityFile(net.identities.client.file);
    }, 240_000);

    afterAll(async () => {
      await ctx?.close().catch(() => undefined);
      bind?.stdin?.end();
      await ns?.destroy();
      await net?.stop();
    });

    it('the controller and router listen on the veth address, the only one the namespace reaches', () => {
      expect(net.ctrlUrl).toBe(`https://${ns.hostAddress}:${net.ctrlPort}`);
      expect(ns.exec('ip', ['route', 'show'])).not.toMatch(/default/);
    });

    it('a service bound inside the namespace echoes bytes dialed from the root namespace', async () => {
      await echoOnce(ctx, net.services.e2ee);
    });

    it('survives a short cut and re-binds after a long one', async () => {
      // A short cut: TCP stalls and resumes; the bind keeps serving.
      ns.cut();
      await new Promise((r) => setTimeout(r, 4_000));
      ns.restore();
      await retry(20, 500, () => echoOnce(ctx, net.services.e2ee));

      // A cut long enough for the bind's channel to be declared dead: it reports re-binding, and after the
      // link is back it is bound again and serves.
      const before = out.lines.length;
      const started = Date.now();
      ns.cut();
      try {
        await out.waitFor(
          (l) => (l.state as { state?: string } | undefined)?.state === 'rebinding',
          'the bind to notice the cut',
          90_000,
          before,
        );
      } finally {
        ns.restore();
      }
      const noticed = Date.now() - started;
      await out.waitFor(
        (l) => (l.state as { state?: string } | undefined)?.state === 'bound-again',
        'the bind to be bound again',
        90_000,
        before,
      );
      console.log(
        `[netns-ziti] cut noticed after ${noticed} ms, bound again ${Date.now() - started} ms after the cut`,
      );
      await retry(20, 500, () => echoOnce(ctx, net.services.e2ee));
    }, 240_000);
  },
);
