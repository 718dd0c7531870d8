/**
 * An edge router restart: the binder re-binds by itself (bounded backoff) and serves again; the dialer's
 * open connection fails with ConnectionClosedByRouterError and the next dial opens a new channel.
 * Runs on a private network, because restarting the router would disturb other test files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { RebindEvent, ZitiServer } from '../../../src/ziti/edge/server.js';
import { ConnectionClosedByRouterError } from '../../../src/ziti/errors.js';
import { startTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, nextEvent, pipeEcho, readAll, retry } from './helpers.js';

describe.skipIf(!zitiTestsEnabled())('edge router restart', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;

  beforeAll(async () => {
    net = await startTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
  });

  afterAll(async () => {
    await clientCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  async function echo(service: string, text: string): Promise<string> {
    const conn = await clientCtx.dial(service);
    const answer = readAll(conn, 20_000);
    conn.end(Buffer.from(text));
    return (await answer).toString();
  }

  it('re-binds after the router restarts and serves new connections', async () => {
    const service = net.services.e2ee;
    const server: ZitiServer = await serverCtx.bind(service, {
      rebind: { initialDelayMs: 200, maxDelayMs: 2_000, maxAttempts: 60, maxOutageMs: 120_000 },
    });
    const errors: Error[] = [];
    server.on('error', (err) => errors.push(err));
    server.on('connection', pipeEcho);
    await listening(server);
    expect(await echo(service, 'before restart')).toBe('before restart');

    const openConn = await clientCtx.dial(service);
    const openConnFailure = nextEvent<Error>(openConn, 'error', 120_000);
    const channelBefore = clientCtx.routers()[0]?.channelId;
    const rebound = nextEvent<RebindEvent>(server, 'rebind', 150_000);

    await net.restartRouter();

    expect(await openConnFailure).toBeInstanceOf(ConnectionClosedByRouterError);
    const event = await rebound;
    expect(event.router).toBe(net.routerName);
    expect(event.attempts).toBeGreaterThanOrEqual(1);
    expect(event.cause).toBeInstanceOf(ConnectionClosedByRouterError);
    await listening(server, 60_000);
    // The client notices the restart on its own channel; allow it a few tries to reconnect.
    expect(await retry(20, 1_000, () => echo(service, 'after restart'))).toBe('after restart');
    expect(clientCtx.routers()[0]?.channelId).not.toBe(channelBefore);
    expect(errors).toEqual([]);
    expect(server.listening).toBe(true);
    await server.close();
  }, 300_000);
});
