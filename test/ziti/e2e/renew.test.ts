/**
 * Certificate renewal on the real controller: a freshly enrolled identity whose renewal margin is longer than
 * its certificate's life renews at its first login, through the authenticator extend API, for both login
 * methods. The identity file is rewritten in place (mode 0600, no backup or temporary file left), the new
 * certificate logs in and dials, and the controller refuses the old one.
 *
 * Controller v1.7.2 signs identity certificates for one year, fixed (openziti/ziti issue 3174), so this test
 * cannot wait past a real expiry; it forces the renewal with the margin instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZitiContext } from '../../../src/ziti/context.js';
import { ControllerClient } from '../../../src/ziti/controller/client.js';
import type { ControllerRequestInfo, RenewedInfo } from '../../../src/ziti/controller/types.js';
import { enrollWithJwt } from '../../../src/ziti/enroll.js';
import { AuthenticationFailedError } from '../../../src/ziti/errors.js';
import { loadIdentity } from '../../../src/ziti/identity.js';
import { RenewalFailedError } from '../../../src/ziti/renew.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, nextEvent, pipeEcho, readAll, retry, uniqueName } from './helpers.js';

const YEAR_AND_A_BIT_MS = 400 * 24 * 60 * 60 * 1000;

describe.skipIf(!zitiTestsEnabled())('certificate renewal through the authenticator extend API', () => {
  let net: TestNetwork;
  let dir: string;
  let hostCtx: ZitiContext;
  const terminator = uniqueName('renew-echo');
  const created: string[] = [];

  beforeAll(async () => {
    net = await acquireTestNetwork();
    dir = await mkdtemp(join(tmpdir(), 'ralph-renew-'));
    hostCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    const server = await hostCtx.bind(net.services.plain, { terminatorIdentity: terminator });
    server.on('connection', pipeEcho);
    await listening(server);
  }, 180_000);

  afterAll(async () => {
    await hostCtx?.close();
    for (const name of created) await net.ziti(['edge', 'delete', 'identity', name]).catch(() => undefined);
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function echo(ctx: ZitiContext, text: string): Promise<string> {
    // The router learns of a new identity (and of a new API session) from the controller shortly after.
    const conn = await retry(20, 500, () =>
      ctx.dial(net.services.plain, { terminatorIdentity: terminator, timeoutMs: 5_000 }),
    );
    conn.end(text);
    return (await readAll(conn, 20_000)).toString('utf8');
  }

  it('puts the old identity file back when the controller refuses the verification', async () => {
    const name = uniqueName('ralph-renew-refused');
    const jwtFile = join(dir, `${name}.jwt`);
    const file = join(dir, `${name}.json`);
    await net.ziti(['edge', 'create', 'identity', name, '-a', 'ralph-clients', '-o', jwtFile]);
    created.push(name);
    const original = await enrollWithJwt(jwtFile, file);
    const originalText = await readFile(file, 'utf8');
    const other = await loadIdentity(net.identities.client.file);

    /** Confirms with another identity's certificate, which the real controller refuses. */
    class WrongVerify extends ControllerClient {
      override post(path: string, body: unknown): Promise<unknown> {
        if (path.endsWith('/extend-verify')) return super.post(path, { clientCert: other.cert });
        return super.post(path, body);
      }
    }
    const client = new WrongVerify(original, { auth: 'legacy', keepAlive: false });
    try {
      await client.authenticate();
      const err = await client.renewCertificate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RenewalFailedError);
      expect((err as RenewalFailedError).step).toBe('verify');
      // The old file is back, byte for byte, with nothing left beside it, and the old certificate still logs in.
      expect(await readFile(file, 'utf8')).toBe(originalText);
      expect((await readdir(dir)).filter((f) => f.startsWith(name)).sort()).toEqual(
        [`${name}.json`, `${name}.jwt`].sort(),
      );
      expect(client.identity.cert).toBe(original.cert);
      const fresh = new ControllerClient(await loadIdentity(file), { renew: false, keepAlive: false });
      try {
        expect((await fresh.authenticate()).identityName).toBe(name);
      } finally {
        fresh.close();
      }
    } finally {
      client.close();
    }
  }, 60_000);

  it.each(['legacy', 'oidc'] as const)(
    'renews before expiry (%s login), rewrites the identity file and keeps working',
    async (auth) => {
      const name = uniqueName(`ralph-renew-${auth}`);
      const jwtFile = join(dir, `${name}.jwt`);
      const file = join(dir, `${name}.json`);
      await net.ziti(['edge', 'create', 'identity', name, '-a', 'ralph-clients', '-o', jwtFile]);
      created.push(name);
      const original = await enrollWithJwt(jwtFile, file);

      const ctx = new ZitiContext(original, {
        controller: { auth, renew: { marginMs: YEAR_AND_A_BIT_MS } },
      });
      try {
        const requests: ControllerRequestInfo[] = [];
        ctx.controller.on('request', (r) => requests.push(r));
        const failures: Error[] = [];
        ctx.controller.on('renewFailed', (err) => failures.push(err));
        const renewed = nextEvent<RenewedInfo>(ctx.controller, 'renewed', 60_000);
        await ctx.controller.authenticate();
        expect(ctx.controller.authMethod()).toBe(auth);
        const info = await renewed;
        expect(failures).toEqual([]);

        // The extend and verify calls, over the login method asked for.
        const paths = requests.map((r) => `${r.method} ${r.path} ${r.status}`);
        expect(paths.some((p) => /POST .*\/authenticators\/[^/]+\/extend 200/.test(p))).toBe(true);
        expect(paths.some((p) => /POST .*\/authenticators\/[^/]+\/extend-verify 200/.test(p))).toBe(true);

        // The file now holds a new key and certificate, owner-only, and nothing is left beside it.
        const onDisk = await loadIdentity(file);
        expect(onDisk.cert).not.toBe(original.cert);
        expect(onDisk.key).not.toBe(original.key);
        expect(onDisk.name).toBe(original.name);
        expect(onDisk.cert).toBe(ctx.controller.identity.cert);
        expect(info.file).toBe(file);
        expect(info.previousNotAfter.getTime()).toBe(original.notAfter.getTime());
        expect(info.notAfter.getTime()).toBe(onDisk.notAfter.getTime());
        console.log(
          `[renew] ${auth}: notAfter ${original.notAfter.toISOString()} -> ${onDisk.notAfter.toISOString()}`,
        );
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        expect((await readdir(dir)).filter((f) => f.startsWith(name)).sort()).toEqual(
          [`${name}.json`, `${name}.jwt`].sort(),
        );

        // The renewed context logged in again with the new certificate and dials.
        expect(ctx.controller.currentApiSession()?.identityName).toBe(name);
        expect(await echo(ctx, `renewed ${auth}`)).toBe(`renewed ${auth}`);

        // A fresh context from the rewritten file works; the old certificate is refused.
        const again = await ZitiContext.fromIdentityFile(file, { controller: { auth, renew: false } });
        try {
          expect(await echo(again, 'from the file')).toBe('from the file');
        } finally {
          await again.close();
        }
        const stale = new ControllerClient(original, { auth: 'legacy', renew: false, keepAlive: false });
        try {
          await expect(stale.authenticate()).rejects.toBeInstanceOf(AuthenticationFailedError);
        } finally {
          stale.close();
        }
      } finally {
        await ctx.close();
      }
    },
    120_000,
  );
});
