/**
 * A reader that keeps reading but is slower than its sender must get backpressure, not lose its connection
 * (real controller and edge router). Our server hosts the plain service and pipes each connection into a
 * Writable that takes READER_BYTES_PER_S, hashing what it takes; once the client half-closes, the server
 * answers with the hash. The client sends TOTAL_BYTES (four times the default receive bound) as fast as
 * the channel takes them. Meanwhile a second connection (app data "echo", on the same host channel) echoes a
 * round trip every 50 ms from a context of its own, so that it shares only the host channel with the
 * transfer. Skipped with a notice when there is no `ziti` CLI (fails with RALPH_REQUIRE_ZITI=1).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONN_RECEIVE_BUFFER_BYTES } from '../../../src/ziti/channel/channel.js';
import { ZitiContext } from '../../../src/ziti/context.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';
import type { ZitiError } from '../../../src/ziti/errors.js';
import { acquireTestNetwork, zitiTestsEnabled, type TestNetwork } from '../network.js';
import { listening, nextEvent, pipeEcho, readAll, roundTrip, uniqueName } from './helpers.js';

const TOTAL_BYTES = 4 * DEFAULT_CONN_RECEIVE_BUFFER_BYTES;
/** The host's reader: well below what one connection carries on this machine (25–40 MiB/s). */
const READER_BYTES_PER_S = 4 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/**
 * An echo slower than this counts as stalled. The echo waits behind what is already queued for the slow
 * reader in the socket buffers and the router, which drains at the reader's pace (3 s measured), not 2 s.
 */
const ROUND_TRIP_TIMEOUT_MS = 30_000;

/** Round trips of 32 bytes every 50 ms until `stop()` is true; resolves with their times (ms). */
async function echoLoop(conn: EdgeConn, stop: () => boolean): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < 100_000 && !stop(); i++) {
    times.push(await roundTrip(conn, randomBytes(32), ROUND_TRIP_TIMEOUT_MS));
    await sleep(50);
  }
  return times;
}

/** A sink that takes READER_BYTES_PER_S and hashes what it takes. */
function slowHashingSink(): { sink: Writable; digest: () => string } {
  const hash = createHash('sha256');
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      setTimeout(callback, (chunk.length / READER_BYTES_PER_S) * 1000);
    },
  });
  return { sink, digest: () => hash.digest('hex') };
}

describe.skipIf(!zitiTestsEnabled())('a slow reader behind the real edge router', () => {
  let net: TestNetwork;
  let serverCtx: ZitiContext;
  let clientCtx: ZitiContext;
  /** The echo's dialing side has a channel of its own: only the host's channel is shared with the transfer. */
  let echoCtx: ZitiContext;
  let server: ZitiServer;
  const hosted: EdgeConn[] = [];
  const hostErrors: Error[] = [];
  const id = uniqueName('slow');

  beforeAll(async () => {
    net = await acquireTestNetwork();
    serverCtx = await ZitiContext.fromIdentityFile(net.identities.server.file);
    clientCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
    echoCtx = await ZitiContext.fromIdentityFile(net.identities.client.file);
    server = await serverCtx.bind(net.services.plain, { terminatorIdentity: id });
    server.on('connection', (conn) => {
      if (conn.appData?.toString() === 'echo') {
        pipeEcho(conn);
        return;
      }
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
    await echoCtx?.close();
    await serverCtx?.close();
    await net?.stop();
  });

  it('carries four times the receive bound intact to a host that reads slower than the client sends', async () => {
    const echo = await echoCtx.dial(net.services.plain, {
      terminatorIdentity: id,
      appData: Buffer.from('echo'),
    });
    const conn = await clientCtx.dial(net.services.plain, { terminatorIdentity: id });
    let finished = false;
    const echoes = echoLoop(echo, () => finished);
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
    finished = true;
    const times = (await echoes).sort((a, b) => a - b);
    const at = (p: number): string => (times[Math.floor(((times.length - 1) * p) / 100)] ?? NaN).toFixed(1);
    console.log(
      `echo on the host's channel meanwhile: ${times.length} round trips, p50 ${at(50)} ms, ` +
        `p90 ${at(90)} ms, p99 ${at(99)} ms, max ${at(100)} ms`,
    );
    echo.end();
    const host = hosted.find((c) => c.circuitId === conn.circuitId);
    console.log(
      `${TOTAL_BYTES / CHUNK} MiB to a ${READER_BYTES_PER_S / CHUNK} MiB/s reader in ${seconds.toFixed(1)} s; ` +
        `host held at most ${host?.receiveBufferPeak} bytes, took ${host?.receiveHolds} holds ` +
        `(${host?.receiveHeldMs} ms held); host errors: ${hostErrors.map((e) => e.message).join('; ') || 'none'}`,
    );
    expect(hostErrors.map((e) => (e as ZitiError).code)).toEqual([]);
    expect(received).toBe(sent.digest('hex'));
    expect(host?.receiveBufferPeak).toBeLessThanOrEqual(DEFAULT_CONN_RECEIVE_BUFFER_BYTES);
    expect(host?.receiveHolds).toBeGreaterThan(0);
    expect(times.length).toBeGreaterThan(0);
  }, 300_000);
});
