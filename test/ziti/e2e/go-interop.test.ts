/**
 * Interoperation with the official Go SDK, through the real edge router:
 *  - `ziti tunnel proxy` (Go dialer) reaches a service our SDK hosts, plain and end-to-end encrypted;
 *  - our dialer reaches a TCP echo server hosted by `ziti tunnel host` (Go binder, e2ee service).
 *
 * The proxy runs with `--sdk-flow-control=false --default-connections=1`: with the Go SDK's own flow
 * control, its half-close travels as an xgress EOF that routers up to v1.7 do not pass on to an SDK that
 * does not use that flow control, so the host would never see the client's end (the data itself flows
 * either way). Newer routers forward it as a FIN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import { startEchoServer, type EchoServer } from '../echo-server.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork, type ZitiProcess } from '../network.js';
import { listening, pipeEcho, pumpAndHash, retry, sha256, tcpExchange } from './helpers.js';

describe.skipIf(!zitiTestsEnabled())('interoperation with the Go SDK', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;
  const processes: ZitiProcess[] = [];
  const hosted: EdgeConn[] = [];
  let echo: EchoServer | undefined;

  beforeAll(async () => {
    net = await acquireTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
  });

  afterAll(async () => {
    for (const p of processes) await p.stop();
    await echo?.close();
    await clientCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  it('serves `ziti tunnel proxy` clients on the plain and the e2ee service', async () => {
    for (const service of [net.services.plain, net.services.e2ee]) {
      // 'required' makes the router prefer this host over echo hosts other test files may have bound.
      const server = await serverCtx.bind(service, { precedence: 'required' });
      server.on('connection', (conn) => {
        hosted.push(conn);
        pipeEcho(conn);
      });
      await listening(server);
    }
    const proxy = net.spawnZiti(
      [
        'tunnel',
        'proxy',
        '-i',
        net.identities.gotunnel.file,
        '--sdk-flow-control=false',
        '--default-connections=1',
      ],
      'go-proxy',
    );
    processes.push(proxy);
    for (const key of ['plain', 'e2ee'] as const) {
      const { host, port } = net.proxyListeners[key];
      const payload = randomBytes(256 * 1024);
      const answer = await retry(60, 500, () => tcpExchange(host, port, payload)).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${proxy.logTail(30)}`);
      });
      expect(answer.length).toBe(payload.length);
      expect(sha256(answer)).toBe(sha256(payload));
    }
    const fromGo = hosted.filter((c) => c.callerId === net.identities.gotunnel.name);
    expect(fromGo.map((c) => c.service).sort()).toEqual([net.services.e2ee, net.services.plain].sort());
    expect(fromGo.find((c) => c.service === net.services.e2ee)?.encrypted).toBe(true);
  }, 120_000);

  it('dials a service hosted by `ziti tunnel host`, end-to-end encrypted', async () => {
    const target = net.goHostedTarget;
    echo = await startEchoServer(target.port, target.host);
    const host = net.spawnZiti(['tunnel', 'host', '-i', net.identities.gotunnel.file], 'go-host');
    processes.push(host);
    const conn = await retry(60, 500, () =>
      clientCtx.dial(net.services.goHosted, { timeoutMs: 5_000 }),
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${host.logTail(30)}`);
    });
    expect(conn.encrypted).toBe(true);
    const total = 4 * 1024 * 1024;
    const result = await pumpAndHash(conn, conn, total, 256 * 1024);
    expect(result.receivedBytes).toBe(total);
    expect(result.received).toBe(result.sent);
  }, 120_000);
});
