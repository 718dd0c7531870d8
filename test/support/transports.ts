/**
 * The transports the protocol tests run over: a real Unix socket, and a real OpenZiti service on the test
 * network (skipped with the usual notice when there is no `ziti` CLI). Each test listener hosts its own
 * terminator on the shared service, so tests and files never reach each other's servers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import type { ByteStream, ConnectionInfo } from '../../src/transport/stream.js';
import { dialUnix, listenUnix } from '../../src/transport/unix.js';
import { dialZiti, listenZiti } from '../../src/transport/ziti.js';
import { ZitiContext } from '../../src/ziti/context.js';
import { uniqueName } from '../ziti/e2e/helpers.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../ziti/network.js';

export type TransportKind = 'unix' | 'ziti';
export const TRANSPORTS: readonly TransportKind[] = ['unix', 'ziti'];

export interface TestListener {
  /** Where it listens, for messages: a socket path or a service and terminator. */
  address: string;
  dial(): Promise<ByteStream>;
  close(): Promise<void>;
}

interface ZitiSide {
  net: TestNetwork;
  host: ZitiContext;
  client: ZitiContext;
}

let ziti: Promise<ZitiSide> | null = null;

function zitiSide(): Promise<ZitiSide> {
  ziti ??= (async () => {
    const net = await acquireTestNetwork();
    const host = await ZitiContext.fromIdentityFile(net.identities.server.file);
    const client = await ZitiContext.fromIdentityFile(net.identities.client.file);
    return { net, host, client };
  })();
  return ziti;
}

async function releaseZiti(): Promise<void> {
  const side = ziti;
  ziti = null;
  if (side === null) return;
  const { net, host, client } = await side;
  await client.close();
  await host.close();
  await net.stop();
}

/** Listens on a fresh endpoint of `kind`; `onConnection` gets every accepted stream. */
export async function listenTest(
  kind: TransportKind,
  onConnection: (stream: ByteStream, info: ConnectionInfo) => void,
): Promise<TestListener> {
  if (kind === 'unix') {
    const dir = mkdtempSync(join(tmpdir(), 'ralph-proto-'));
    const path = join(dir, 'run', 'loop.sock');
    const listener = await listenUnix(path, onConnection);
    return {
      address: path,
      dial: () => dialUnix(path),
      close: async () => {
        await listener.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const side = await zitiSide();
  const service = side.net.services.plain;
  const terminatorIdentity = uniqueName('proto');
  const listener = await listenZiti(side.host, service, onConnection, {
    bind: { terminatorIdentity, terminators: 1 },
  });
  return {
    address: `${service}@${terminatorIdentity}`,
    dial: () => dialZiti(side.client, service, { terminatorIdentity }),
    close: () => listener.close(),
  };
}

/** The client identity's name on the test network, as a Ziti listener reports the caller. */
export async function zitiClientName(): Promise<string> {
  return (await zitiSide()).net.identities.client.name;
}

/**
 * Declares `body` once per transport, in a `describe` named after it; the Ziti one is skipped (with the
 * notice) when there is no `ziti` CLI, and releases its contexts after its tests.
 */
export function describeTransports(name: string, body: (kind: TransportKind) => void): void {
  for (const kind of TRANSPORTS) {
    describe.skipIf(kind === 'ziti' && !zitiTestsEnabled())(`${name} [${kind}]`, () => {
      if (kind === 'ziti') afterAll(releaseZiti);
      body(kind);
    });
  }
}
