/**
 * From a one-time token to traffic: an identity created on the controller is enrolled with our
 * enrollWithJwt, and the identity file it writes dials the plain echo service (hosted here by our binder)
 * and gets its bytes back. The identity is deleted afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import { enrollWithJwt } from '../../../src/ziti/enroll.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, pipeEcho, readAll, retry, uniqueName } from './helpers.js';

describe.skipIf(!zitiTestsEnabled())('enroll a new identity, then dial with it', () => {
  let net: TestNetwork;
  let dir: string;
  let serverCtx: ZitiContext;
  const accepted: EdgeConn[] = [];
  const terminator = uniqueName('enroll-echo');

  beforeAll(async () => {
    net = await acquireTestNetwork();
    dir = await mkdtemp(join(tmpdir(), 'ralph-enroll-dial-'));
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    const server = await serverCtx.bind(net.services.plain, { terminatorIdentity: terminator });
    server.on('connection', (conn) => {
      accepted.push(conn);
      pipeEcho(conn);
    });
    await listening(server);
  });

  afterAll(async () => {
    await serverCtx?.close();
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('enrolls with enrollWithJwt and echoes over the plain service with the new identity', async () => {
    const name = uniqueName('ralph-enroll-dial');
    const jwtFile = join(dir, `${name}.jwt`);
    await net.ziti(['edge', 'create', 'identity', name, '-a', 'ralph-clients', '-o', jwtFile]);
    let ctx: ZitiContext | undefined;
    try {
      const identityFile = join(dir, `${name}.json`);
      const identity = await enrollWithJwt(jwtFile, identityFile);
      expect(identity.ztAPI.href).toBe(`${net.ctrlUrl}/edge/client/v1`);
      expect((await stat(identityFile)).mode & 0o777).toBe(0o600);

      ctx = await ZitiContext.fromIdentityFile(identityFile);
      expect(ctx.controller.currentApiSession()?.identityName).toBe(name);
      const client = ctx;
      // The router learns of a new identity from the controller shortly after it is created.
      const conn = await retry(20, 500, () =>
        client.dial(net.services.plain, { terminatorIdentity: terminator, timeoutMs: 5_000 }),
      );
      expect(conn.encrypted).toBe(false);
      const text = `hello from ${name}`;
      const answer = readAll(conn, 20_000);
      conn.end(Buffer.from(text));
      expect((await answer).toString()).toBe(text);

      const hosted = accepted.find((c) => c.circuitId === conn.circuitId);
      expect(hosted?.callerId).toBe(name);
    } finally {
      await ctx?.close();
      await net.ziti(['edge', 'delete', 'identity', name]);
    }
    const left = await net.ziti(['edge', 'list', 'identities', `name="${name}"`, '--output-json']);
    expect((JSON.parse(left) as { data: unknown[] }).data).toEqual([]);
  }, 120_000);
});
