/**
 * A reader that keeps reading but is slower than its sender must get backpressure, not lose its connection
 * (real controller and edge router). Our server hosts the plain service and pipes each connection into a
 * Writable that takes READER_BYTES_PER_S, hashing what it takes; once the client half-closes, the server
 * answers with the hash. The client sends TOTAL_BYTES (four times the default receive bound) as fast as
 * the channel takes them. Skipped with a notice when there is no `ziti` CLI (fails with RALPH_REQUIRE_ZITI=1).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONN_RECEIVE_BUFFER_BYTES } from '../../../src/ziti/channel/channel.js';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';
import type { ZitiError } from '../../../src/ziti/errors.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, nextEvent, readAll, uniqueName } from './helpers.js';

const TOTAL_BYTES = 4 * DEFAULT_CONN_RECEIVE_BUFFER_BYTES;
/** The host's reader: well below what one connection carries on this machine (25–40 MiB/s). */
const READER_BYTES_PER_S = 4 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** A sink that takes READER_BYTES_PER_S and hashes what it takes. */
function slowHashingSink(): { sink: Writable; digest: () => string; taken: () => number } {
  const hash = createHash('sha256');
  let taken = 0;
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      taken += chunk.length;
      setTimeout(callback, (chunk.length / READER_BYTES_PER_S) * 1000);
    },
  });
  return { sink, digest: () => hash.digest('hex'), taken: () => taken };
}

describe.skipIf(!zitiTestsEnabled())('a slow reader behind the real edge router', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;
  let server: ZitiServer;
  const hosted: EdgeConn[] = [];
  const hostErrors: Error[] = [];
  const id = uniqueName('slow');

  beforeAll(async () => {
    net = await acquireTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
    server = await serverCtx.bind(net.services.plain, { terminatorIdentity: id });
    server.on('connection', (conn) => {
      hosted.push(conn);
      conn.on('error', (err) => hostErrors.push(err));
      const { sink, digest } = slowHashingSink();
      conn.pipe(sink);
      sink.once('finish', () => conn.end(digest()));
    });
    await listening(server);
  });

  afterAll(async () => {
    await clientCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  it(
    'carries four times the receive bound intact to a host that reads slower than the client sends',
    async () => {
      const conn = await clientCtx.dial(net.services.plain, { terminatorIdentity: id });
      const answer = readAll(conn, 300_000).then(
        (bytes) => bytes.toString(),
        (err: Error) => `failed: ${err.message}`,
      );
      const closed = new Promise<void>((resolve) => conn.once('close', resolve));
      const sent = createHash('sha256');
      const started = Date.now();
      for (let offset = 0; offset < TOTAL_BYTES && !conn.destroyed; offset += CHUNK) {
        const chunk = randomBytes(CHUNK);
        sent.update(chunk);
        if (!conn.write(chunk)) await Promise.race([nextEvent(conn, 'drain', 120_000), closed]);
      }
      conn.end();
      const received = await answer;
      const seconds = (Date.now() - started) / 1000;
      const host = hosted.find((c) => c.circuitId === conn.circuitId);
      console.log(
        `${TOTAL_BYTES / CHUNK} MiB to a ${READER_BYTES_PER_S / CHUNK} MiB/s reader in ${seconds.toFixed(1)} s; ` +
          `host held at most ${host?.receiveBufferPeak} bytes, took ${host?.receiveHolds} holds ` +
          `(${host?.receiveHeldMs} ms held); host errors: ${hostErrors.map((e) => e.message).join('; ') || 'none'}`,
      );
      expect(hostErrors.map((e) => (e as ZitiError).code)).toEqual([]);
      expect(received).toBe(sent.digest('hex'));
      expect(host?.receiveBufferPeak).toBeLessThanOrEqual(DEFAULT_CONN_RECEIVE_BUFFER_BYTES);
    },
    300_000,
  );
});
