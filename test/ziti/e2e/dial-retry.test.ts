/**
 * A dial that meets a service with no host for the moment (its server between two binds) waits for the host
 * for up to dialRetryMs; a service nobody hosts still fails with the same error, after about dialRetryMs, or
 * at once with dialRetryMs 0. Runs on the real edge router.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';
import { ZitiClosedError } from '../../../src/ziti/edge/errors.js';
import type { ZitiError } from '../../../src/ziti/errors.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, pipeEcho, readAll, uniqueName } from './helpers.js';

async function failure(p: Promise<unknown>): Promise<ZitiError> {
  try {
    await p;
  } catch (err) {
    return err as ZitiError;
  }
  throw new Error('the dial succeeded');
}

describe.skipIf(!zitiTestsEnabled())('dialing a service whose host is away', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;

  beforeAll(async () => {
    net = await acquireTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
  });

  afterAll(async () => {
    await clientCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  async function echoServer(id: string): Promise<ZitiServer> {
    const server = await serverCtx.bind(net.services.plain, { terminatorIdentity: id });
    server.on('connection', pipeEcho);
    await listening(server);
    return server;
  }

  it('reaches a server that re-binds while the dial waits', async () => {
    const id = uniqueName('rebinding');
    const first = await echoServer(id);
    await clientCtx.dial(net.services.plain, { terminatorIdentity: id }).then((c) => c.destroy());
    await first.close();
    // The gap is real: a dial that does not wait fails now, for want of a host.
    let gap: ZitiError | undefined;
    for (let i = 0; i < 50 && gap === undefined; i++) {
      gap = await clientCtx
        .dial(net.services.plain, { terminatorIdentity: id, dialRetryMs: 0 })
        .then((c) => {
          c.destroy();
          return undefined;
        })
        .catch((err: ZitiError) => err);
      if (gap === undefined) await sleep(100);
    }
    expect(gap?.code).toBe('ZITI_DIAL_FAILED');
    console.log(`in the gap: ${gap?.message}`);

    const started = Date.now();
    const rebound = sleep(500).then(() => echoServer(id));
    const conn = await clientCtx.dial(net.services.plain, { terminatorIdentity: id });
    console.log(`the waiting dial succeeded after ${Date.now() - started} ms`);
    const answer = readAll(conn, 10_000);
    conn.end(Buffer.from('back again'));
    expect((await answer).toString()).toBe('back again');
    await (await rebound).close();
  }, 60_000);

  it('still fails a dial to a service nobody hosts, after dialRetryMs or at once with 0', async () => {
    let started = Date.now();
    const waited = await failure(clientCtx.dial(net.services.goHosted, { timeoutMs: 5_000 }));
    const waitedMs = Date.now() - started;
    started = Date.now();
    const atOnce = await failure(clientCtx.dial(net.services.goHosted, { timeoutMs: 5_000, dialRetryMs: 0 }));
    const atOnceMs = Date.now() - started;
    console.log(
      `unhosted: ${waitedMs} ms with the default dialRetryMs, ${atOnceMs} ms with 0: ${waited.message}`,
    );
    expect(waited.code).toBe('ZITI_DIAL_FAILED');
    expect(atOnce.code).toBe('ZITI_DIAL_FAILED');
    expect(waited.message).toMatch(/no terminators/);
  }, 60_000);

  it('ends a dial that waits for a host as soon as its context closes, without waiting out a pause', async () => {
    const ctx = await ZitiContext.fromIdentityFile(net.identities.client.file);
    let settled = false;
    const dialing = failure(ctx.dial(net.services.goHosted, { timeoutMs: 5_000, dialRetryMs: 60_000 }));
    void dialing.finally(() => (settled = true));
    // Well into the wait: attempts a few ms long, with pauses of up to 500 ms between them.
    await sleep(1_500);
    expect(settled).toBe(false);
    await ctx.close();
    // No timer may run first: the pause itself ends with the close.
    for (let turn = 0; turn < 20 && !settled; turn++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(true);
    expect(await dialing).toBeInstanceOf(ZitiClosedError);
  }, 60_000);
});
