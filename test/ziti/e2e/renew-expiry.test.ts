/**
 * Renewal past a real expiry: an identity whose certificate (signed by the network's CA, stored as its
 * authenticator on the controller) expires about 80 s after the test starts renews itself before that through
 * the authenticator extend API, and dials, binds and loads from its identity file after the old certificate's
 * notAfter. Controller v1.7.2 always signs for one year, so the short certificate is planted with the test
 * network's `shortenCertificate` (see docs/ziti-testnet.md). Both login methods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { RenewedInfo } from '../../../src/ziti/controller/types.js';
import { enrollWithJwt } from '../../../src/ziti/enroll.js';
import { identityFromPem, loadIdentity, saveIdentity } from '../../../src/ziti/identity.js';
import { startTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, nextEvent, pipeEcho, readAll, retry, uniqueName } from './helpers.js';

const LIFETIME_S = 80;
const MARGIN_MS = 50_000;

describe.skipIf(!zitiTestsEnabled())('certificate renewal before a real expiry', () => {
  let net: TestNetwork;
  let dir: string;
  const contexts: ZitiContext[] = [];

  beforeAll(async () => {
    net = await startTestNetwork({ timeoutMs: 180_000 });
    dir = await mkdtemp(join(tmpdir(), 'ralph-renew-expiry-'));
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function echo(ctx: ZitiContext, service: string, terminator: string, text: string): Promise<string> {
    const conn = await retry(20, 500, () =>
      ctx.dial(service, { terminatorIdentity: terminator, timeoutMs: 5_000 }),
    );
    conn.end(text);
    return (await readAll(conn, 20_000)).toString('utf8');
  }

  it('renews a short-lived certificate and keeps dialing and binding after its notAfter', async () => {
    const host = await ZitiContext.fromIdentityFile(net.identities.server.file);
    contexts.push(host);
    const hostTerminator = uniqueName('expiry-echo');
    const hosted = await host.bind(net.services.plain, { terminatorIdentity: hostTerminator });
    hosted.on('connection', pipeEcho);
    await listening(hosted);

    // One identity per login method, allowed to dial and bind; each gets a certificate for LIFETIME_S seconds.
    const modes = ['legacy', 'oidc'] as const;
    const files: Record<string, string> = {};
    for (const auth of modes) {
      const name = uniqueName(`ralph-expiry-${auth}`);
      const jwt = join(dir, `${name}.jwt`);
      files[auth] = join(dir, `${name}.json`);
      await net.ziti(['edge', 'create', 'identity', name, '-a', 'ralph-clients,ralph-servers', '-o', jwt]);
      const enrolled = await enrollWithJwt(jwt, files[auth]);
      const chain = await net.shortenCertificate(name, LIFETIME_S);
      const short = identityFromPem({ ...enrolled, ztAPIs: enrolled.ztAPIs, cert: chain, key: enrolled.key });
      await saveIdentity(files[auth], short);
    }

    await Promise.all(
      modes.map(async (auth) => {
        const file = files[auth]!;
        const before = await loadIdentity(file);
        const lifeS = Math.round((before.notAfter.getTime() - Date.now()) / 1000);
        console.log(
          `[renew-expiry] ${auth}: certificate expires ${before.notAfter.toISOString()} (${lifeS} s)`,
        );
        expect(lifeS).toBeLessThan(LIFETIME_S + 5);

        const ctx = new ZitiContext(before, {
          controller: { auth, renew: { marginMs: MARGIN_MS, retryMs: 2_000 } },
        });
        contexts.push(ctx);
        const failures: Error[] = [];
        ctx.controller.on('renewFailed', (err) => failures.push(err));
        const renewed = nextEvent<RenewedInfo>(ctx.controller, 'renewed', (LIFETIME_S + 10) * 1000);
        await ctx.controller.authenticate();
        expect(ctx.controller.authMethod()).toBe(auth);
        // The short certificate is accepted before renewal.
        expect(await echo(ctx, net.services.plain, hostTerminator, `${auth} before`)).toBe(`${auth} before`);

        const info = await renewed;
        const renewedAt = Date.now();
        expect(failures).toEqual([]);
        expect(info.previousNotAfter.getTime()).toBe(before.notAfter.getTime());
        expect(info.notAfter.getTime()).toBeGreaterThan(before.notAfter.getTime() + 24 * 3600_000);
        console.log(
          `[renew-expiry] ${auth}: renewed ${Math.round((before.notAfter.getTime() - renewedAt) / 1000)} s ` +
            `before expiry, new notAfter ${info.notAfter.toISOString()}`,
        );

        // Past the old certificate's notAfter.
        const until = before.notAfter.getTime() + 3_000;
        for (let i = 0; i < 200 && Date.now() < until; i++) await sleep(Math.min(1_000, until - Date.now()));
        expect(Date.now()).toBeGreaterThan(before.notAfter.getTime());

        expect(await echo(ctx, net.services.plain, hostTerminator, `${auth} after`)).toBe(`${auth} after`);
        const terminator = uniqueName(`expiry-bind-${auth}`);
        const server = await ctx.bind(net.services.e2ee, { terminatorIdentity: terminator });
        server.on('connection', pipeEcho);
        await listening(server);
        const dialer = await ZitiContext.fromIdentityFile(net.identities.client.file);
        contexts.push(dialer);
        expect(await echo(dialer, net.services.e2ee, terminator, `${auth} bound`)).toBe(`${auth} bound`);

        // The identity file holds the renewed certificate: a new context loads it and logs in after the old expiry.
        const fromFile = await ZitiContext.fromIdentityFile(file, { controller: { auth, renew: false } });
        contexts.push(fromFile);
        expect(fromFile.identity.notAfter.getTime()).toBe(info.notAfter.getTime());
        expect(await echo(fromFile, net.services.plain, hostTerminator, `${auth} file`)).toBe(`${auth} file`);
        await server.close();
      }),
    );
  }, 300_000);
});
