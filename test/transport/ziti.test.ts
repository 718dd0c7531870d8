/**
 * The Ziti transport over the real test network: a hosted service yields byte streams like a Unix socket's,
 * each with who dialed; dial failures are one-line errors; close() ends what is open. Skipped with a notice
 * when there is no `ziti` CLI (fails instead with RALPH_REQUIRE_ZITI=1).
 */
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RalphError } from '../../src/errors.js';
import type { ConnectionInfo } from '../../src/transport/stream.js';
import { dialZiti, listenZiti } from '../../src/transport/ziti.js';
import type { ZitiListener } from '../../src/transport/ziti.js';
import { ZitiContext } from '../../src/ziti/context.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';
import { within } from '../support/wait.js';

function readOnce(stream: Duplex): Promise<string> {
  return within(
    new Promise<string>((resolve) => stream.once('data', (b: Buffer) => resolve(b.toString()))),
    'an answer',
  );
}

describe.skipIf(!zitiTestsEnabled())('the Ziti transport', () => {
  let net: TestNetwork;
  let host: ZitiContext;
  let client: ZitiContext;

  beforeAll(async () => {
    net = await acquireTestNetwork();
    host = await ZitiContext.fromIdentityFile(net.identities.server.file);
    client = await ZitiContext.fromIdentityFile(net.identities.client.file);
  });

  afterAll(async () => {
    await client?.close();
    await host?.close();
    await net?.stop();
  });

  async function echo(
    infos: ConnectionInfo[],
  ): Promise<{ listener: ZitiListener; terminatorIdentity: string }> {
    const terminatorIdentity = uniqueName('transport');
    const listener = await listenZiti(
      host,
      net.services.plain,
      (stream, info) => {
        infos.push(info);
        stream.pipe(stream);
      },
      { bind: { terminatorIdentity, terminators: 1 } },
    );
    return { listener, terminatorIdentity };
  }

  it('serves bytes and names the dialing identity in a transport-neutral peer, numbered per listener', async () => {
    const infos: ConnectionInfo[] = [];
    const { listener, terminatorIdentity } = await echo(infos);
    try {
      for (const word of ['ping', 'pong']) {
        const stream = await dialZiti(client, net.services.plain, { terminatorIdentity });
        const answer = readOnce(stream);
        stream.write(`${word}\n`);
        expect(await answer).toBe(`${word}\n`);
        stream.destroy();
      }
      expect(infos.map((i) => i.label)).toEqual(['ziti#1', 'ziti#2']);
      for (const info of infos) {
        expect(info.peer).toMatchObject({ label: info.label, transport: 'ziti' });
        expect(info.peer.identity).toBe(net.identities.client.name);
        // Routers before Ziti 2.0 do not vouch for the dialer: then the name is only what the client asserted.
        expect(typeof info.peer.attested).toBe('boolean');
        console.log(`[ziti transport] peer ${JSON.stringify(info.peer)}`);
      }
    } finally {
      await listener.close();
    }
  });

  it('close() stops hosting and ends the connections still open', async () => {
    const infos: ConnectionInfo[] = [];
    const { listener, terminatorIdentity } = await echo(infos);
    const stream = await dialZiti(client, net.services.plain, { terminatorIdentity });
    stream.on('error', () => undefined);
    const answer = readOnce(stream);
    stream.write('hi\n');
    await answer;
    const closed = within(new Promise<void>((resolve) => stream.once('close', () => resolve())), 'the close');
    stream.resume();
    await listener.close();
    await closed;
    const err = await dialZiti(client, net.services.plain, { terminatorIdentity, timeoutMs: 10_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RalphError);
    expect((err as RalphError).code).toMatch(/^DIAL_(FAILED|TIMEOUT)$/);
  });

  it('a dial of a service nobody may reach fails with one line naming it', async () => {
    const err = await dialZiti(client, 'no-such-service-' + uniqueName('x')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RalphError);
    expect((err as RalphError).code).toBe('DIAL_FAILED');
    expect((err as RalphError).message).toMatch(/^cannot connect to ziti service no-such-service-\S+: /);
    expect((err as RalphError).message).not.toContain('\n');
  });
});
