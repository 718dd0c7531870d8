/**
 * Per-connection receive buffers over a real channel (mutual TLS to a scripted router): a connection whose
 * reader stops holds only its own data, up to its bound, then is closed alone; the other connections and the
 * channel's latency probes keep going.
 */
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CONN_RECEIVE_BUFFER_BYTES } from '../../../src/ziti/channel/channel.js';
import { connectChannel } from '../../../src/ziti/channel/connect.js';
import { InvalidChannelOptionError } from '../../../src/ziti/channel/errors.js';
import { getUint32, newMessage, putUint32, resultMessage } from '../../../src/ziti/channel/message.js';
import { ChannelContentType } from '../../../src/ziti/channel/protocol.js';
import { ReceiveOverflowError } from '../../../src/ziti/edge/errors.js';
import { EdgeContentType, EdgeHeader } from '../../../src/ziti/edge/protocol.js';
import { CHUNK, dial, flood, receive, useScriptedEdge } from './scripted-edge.js';

/** The receive bound of the first test: 4 MiB. */
const BOUND = 64 * CHUNK;

const { open, pki } = useScriptedEdge();

describe('per-connection receive buffers', () => {
  it('keeps other connections flowing past an unread one, then closes only the unread one at its bound', async () => {
    const { router, peer } = await open({ connReceiveBufferBytes: BOUND });
    const stalled = await dial(router, peer);
    const other = await dial(router, peer);
    const stalledError = new Promise<Error>((resolve) => stalled.once('error', resolve));
    expect(stalled.receiveBufferLimit).toBe(BOUND);

    // 2 MiB the stalled reader never takes: held by that connection alone.
    flood(peer, stalled.connId, 32);
    const hello = newMessage(EdgeContentType.data, 'still flowing');
    putUint32(hello.headers, EdgeHeader.connId, other.connId);
    peer.send(hello);
    expect((await receive(other, 13, 5_000)).toString()).toBe('still flowing');
    for (let i = 0; i < 100 && stalled.receiveBuffered < 32 * CHUNK; i++) await sleep(20);
    expect(stalled.receiveBuffered).toBe(32 * CHUNK);
    expect(stalled.destroyed).toBe(false);

    // Past its bound it is closed with a reason, and the router is told.
    flood(peer, stalled.connId, 40);
    const err = await stalledError;
    expect(err).toBeInstanceOf(ReceiveOverflowError);
    expect((err as ReceiveOverflowError).code).toBe('ZITI_RECEIVE_OVERFLOW');
    expect(stalled.closeReason).toMatch(/receive bound/);
    expect(stalled.receiveBufferPeak).toBeLessThanOrEqual(BOUND);
    expect(stalled.receiveBufferPeak).toBeGreaterThan(BOUND - CHUNK);
    const closed = await peer.next(
      (m) =>
        m.contentType === EdgeContentType.stateClosed &&
        getUint32(m.headers, EdgeHeader.connId) === stalled.connId,
    );
    expect(closed.body.toString()).toMatch(/receive bound/);

    // The channel and the other connection are untouched.
    const after = newMessage(EdgeContentType.data, Buffer.alloc(3 * CHUNK, 7));
    putUint32(after.headers, EdgeHeader.connId, other.connId);
    peer.send(after);
    expect((await receive(other, 3 * CHUNK, 5_000)).length).toBe(3 * CHUNK);
    expect(other.destroyed).toBe(false);
    expect(router.channel.closed).toBe(false);
    expect(router.connCount).toBe(1);
    other.write('reply');
    const data = await peer.next(
      (m) =>
        m.contentType === EdgeContentType.data && getUint32(m.headers, EdgeHeader.connId) === other.connId,
    );
    expect(data.body.toString()).toBe('reply');
  });

  it('honours a smaller bound per context and per connection, and a reader that catches up is kept', async () => {
    const { router, peer } = await open({ connReceiveBufferBytes: 4 * CHUNK });
    const conn = await dial(router, peer);
    expect(conn.receiveBufferLimit).toBe(4 * CHUNK);
    flood(peer, conn.connId, 4);
    for (let i = 0; i < 100 && conn.receiveBuffered < 4 * CHUNK; i++) await sleep(20);
    expect(conn.receiveBuffered).toBe(4 * CHUNK);
    // The reader takes everything: room again for another full bound.
    expect((await receive(conn, 4 * CHUNK, 5_000)).length).toBe(4 * CHUNK);
    conn.pause();
    flood(peer, conn.connId, 4);
    for (let i = 0; i < 100 && conn.receiveBuffered < 4 * CHUNK; i++) await sleep(20);
    expect(conn.destroyed).toBe(false);
    expect(conn.receiveBufferPeak).toBe(4 * CHUNK);

    const wide = await dial(router, peer);
    wide.receiveBufferLimit = 16 * CHUNK;
    flood(peer, wide.connId, 10);
    for (let i = 0; i < 100 && wide.receiveBuffered < 10 * CHUNK; i++) await sleep(20);
    expect(wide.receiveBuffered).toBe(10 * CHUNK);
    expect(wide.destroyed).toBe(false);
  });

  it('keeps probing the router while a reader holds data unread', async () => {
    const { router, peer } = await open({ probeIntervalMs: 100, probeTimeoutMs: 5_000 });
    const stalled = await dial(router, peer);
    expect(stalled.receiveBufferLimit).toBe(DEFAULT_CONN_RECEIVE_BUFFER_BYTES);
    flood(peer, stalled.connId, 32);
    // At least 1 MiB unread (readableLength: what the reader has not taken).
    for (let i = 0; i < 100 && stalled.readableLength < 16 * CHUNK; i++) await sleep(20);
    expect(stalled.readableLength).toBeGreaterThanOrEqual(16 * CHUNK);
    const answeredBefore = router.channel.probesAnswered;
    // Ten probe intervals: each probe is answered by the router.
    let probes = 0;
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      const probe = await peer
        .nextOfType(ChannelContentType.latency, Math.max(1, deadline - Date.now()))
        .catch(() => undefined);
      if (!probe) break;
      peer.reply(probe, resultMessage(true));
      probes++;
    }
    for (let i = 0; i < 50 && router.channel.probesAnswered === answeredBefore; i++) await sleep(20);
    console.log(`probes while a reader held ${stalled.readableLength} bytes for 1 s: ${probes}`);
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(router.channel.probesAnswered).toBeGreaterThan(answeredBefore);
    expect(stalled.destroyed).toBe(false);
  });

  it('notices a dead link while a reader holds data unread', async () => {
    const { router, peer } = await open({ probeIntervalMs: 100, probeTimeoutMs: 300 });
    const stalled = await dial(router, peer);
    stalled.on('error', () => undefined);
    flood(peer, stalled.connId, 24);
    for (let i = 0; i < 100 && stalled.readableLength < 16 * CHUNK; i++) await sleep(20);
    expect(stalled.readableLength).toBeGreaterThanOrEqual(16 * CHUNK);
    // From now on the router answers nothing: the link is dead.
    const closed = new Promise<Error | undefined>((resolve) => router.channel.once('close', resolve));
    const reason = await Promise.race([
      closed,
      new Promise<string>((r) => setTimeout(() => r('still open'), 5_000)),
    ]);
    expect(reason).toBeInstanceOf(Error);
    expect(String((reason as Error).message)).toMatch(/no answer/);
    expect(stalled.destroyed).toBe(true);
  });

  it('refuses a receive bound that is not a positive whole number', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(
        connectChannel({
          url: 'tls://127.0.0.1:1',
          tls: { cert: pki().client.certPem, key: pki().client.keyPem, ca: [pki().ca.certPem] },
          apiSessionToken: 'api',
          connReceiveBufferBytes: bad,
        }),
      ).rejects.toThrow(InvalidChannelOptionError);
    }
  });
});
