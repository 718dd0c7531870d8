/**
 * Our binder and our dialer through the real edge router: echo on the plain and the end-to-end encrypted
 * service, 64 MiB through one connection, 100 connections over one channel, half-close, refusals.
 * Skipped with a notice when there is no `ziti` CLI (fails instead with RALPH_REQUIRE_ZITI=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import { DialFailedError } from '../../../src/ziti/edge/errors.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';
import { NoBindPermissionError, ServiceNotFoundError } from '../../../src/ziti/errors.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, pipeEcho, pumpAndHash, readAll, sha256, uniqueName } from './helpers.js';

describe.skipIf(!zitiTestsEnabled())('our SDK against the real edge router', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;
  const servers: ZitiServer[] = [];
  const accepted: EdgeConn[] = [];
  const ids = { plain: uniqueName('echo-plain'), e2ee: uniqueName('echo-e2ee') };

  beforeAll(async () => {
    net = await acquireTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
    for (const [key, service] of [
      ['plain', net.services.plain],
      ['e2ee', net.services.e2ee],
    ] as const) {
      const server = await serverCtx.bind(service, { terminatorIdentity: ids[key] });
      server.on('connection', (conn) => {
        accepted.push(conn);
        pipeEcho(conn);
      });
      await listening(server);
      servers.push(server);
    }
  });

  afterAll(async () => {
    await clientCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  for (const key of ['plain', 'e2ee'] as const) {
    it(`echoes over the ${key} service and tells the host who called`, async () => {
      const service = net.services[key];
      const conn = await clientCtx.dial(service, { terminatorIdentity: ids[key] });
      expect(conn.encrypted).toBe(key === 'e2ee');
      const answer = readAll(conn);
      conn.end(Buffer.from(`hello ${key}`));
      expect((await answer).toString()).toBe(`hello ${key}`);
      const hosted = accepted.find((c) => c.service === service && c.circuitId === conn.circuitId);
      expect(hosted?.callerId).toBe(net.identities.client.name);
      expect(hosted?.encrypted).toBe(key === 'e2ee');
    });
  }

  it('carries 64 MiB through one end-to-end encrypted connection intact', async () => {
    const conn = await clientCtx.dial(net.services.e2ee, { terminatorIdentity: ids.e2ee });
    const total = 64 * 1024 * 1024;
    const result = await pumpAndHash(conn, conn, total);
    expect(result.receivedBytes).toBe(total);
    expect(result.received).toBe(result.sent);
  }, 300_000);

  it('runs 100 concurrent connections over one channel to the router', async () => {
    const conns = await Promise.all(
      Array.from({ length: 100 }, () =>
        clientCtx.dial(net.services.plain, { terminatorIdentity: ids.plain }),
      ),
    );
    const routers = clientCtx.routers();
    expect(routers).toHaveLength(1);
    expect(new Set(conns.map((c) => c.channelId))).toEqual(new Set([routers[0]!.channelId]));
    expect(routers[0]!.connections).toBeGreaterThanOrEqual(100);
    expect(new Set(conns.map((c) => c.connId)).size).toBe(100);
    const answers = await Promise.all(
      conns.map((conn, i) => {
        const answer = readAll(conn);
        conn.end(Buffer.from(`connection ${i} `.repeat(100)));
        return answer;
      }),
    );
    answers.forEach((a, i) => expect(a.toString()).toBe(`connection ${i} `.repeat(100)));
  }, 120_000);

  it('honours half-close: the host answers after the client has ended its side', async () => {
    const id = uniqueName('deferred-echo');
    const server = await serverCtx.bind(net.services.plain, { terminatorIdentity: id });
    const wroteAfterEnd: boolean[] = [];
    server.on('connection', (conn) => {
      conn.on('error', () => conn.destroy());
      const parts: Buffer[] = [];
      conn.on('data', (c: Buffer) => parts.push(c));
      conn.once('end', () => {
        wroteAfterEnd.push(conn.writable);
        conn.end(Buffer.concat([Buffer.from('after your end: '), ...parts]));
      });
    });
    await listening(server);
    const conn = await clientCtx.dial(net.services.plain, { terminatorIdentity: id });
    const payload = Buffer.from('x'.repeat(200_000));
    const answer = readAll(conn);
    conn.end(payload);
    const got = await answer;
    expect(got.subarray(0, 16).toString()).toBe('after your end: ');
    expect(sha256(got.subarray(16))).toBe(sha256(payload));
    expect(wroteAfterEnd).toEqual([true]);
    await server.close();
  });

  it('refuses an identity without policies with a typed error, and Bind without the permission', async () => {
    const outsider = await ZitiContext.fromIdentityFile(net.identities.outsider.file);
    try {
      const denied = outsider.dial(net.services.plain);
      await expect(denied).rejects.toBeInstanceOf(ServiceNotFoundError);
      await expect(denied).rejects.toThrow(net.services.plain);
    } finally {
      await outsider.close();
    }
    await expect(clientCtx.bind(net.services.plain)).rejects.toBeInstanceOf(NoBindPermissionError);
  });

  it('reports a dial nobody can answer as DialFailedError', async () => {
    const dial = clientCtx.dial(net.services.e2ee, { terminatorIdentity: uniqueName('nobody') });
    await expect(dial).rejects.toBeInstanceOf(DialFailedError);
    await expect(dial).rejects.toThrow(net.services.e2ee);
  });
});
