/**
 * Holds over a real channel (mutual TLS to a scripted router): a connection whose reader is reading but
 * slower than its sender pauses the channel's reading until it drains; a reader that stopped does not hold
 * for longer than the activity window and then runs into its bound alone; no hold outlasts its cap; probes
 * do not count a held time as a dead link.
 */
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectChannel } from '../../../src/ziti/channel/connect.js';
import { InvalidChannelOptionError } from '../../../src/ziti/channel/errors.js';
import { newMessage, putUint32, resultMessage } from '../../../src/ziti/channel/message.js';
import { ChannelContentType } from '../../../src/ziti/channel/protocol.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import { ReceiveOverflowError } from '../../../src/ziti/edge/errors.js';
import { EdgeContentType, EdgeHeader } from '../../../src/ziti/edge/protocol.js';
import type { PeerSession } from '../channel/peer.js';
import { CHUNK, dial, flood, receive, useScriptedEdge } from './scripted-edge.js';

const { open, pki } = useScriptedEdge();

/** Holds start above 4 chunks unread and end below 2. */
const HOLD_BYTES = 4 * CHUNK;

function sendText(peer: PeerSession, connId: number, text: string): void {
  const msg = newMessage(EdgeContentType.data, text);
  putUint32(msg.headers, EdgeHeader.connId, connId);
  peer.send(msg);
}

/** Waits (bounded) until `cond` holds; returns whether it did. */
async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  for (let i = 0; i < timeoutMs / 10 && !cond(); i++) await sleep(10);
  return cond();
}

/** The reader takes one chunk (and so counts as reading). */
async function takeOneChunk(peer: PeerSession, conn: EdgeConn): Promise<void> {
  flood(peer, conn.connId, 1);
  expect(await waitFor(() => conn.receiveBuffered === CHUNK)).toBe(true);
  expect((conn.read() as Buffer).length).toBe(CHUNK);
}

describe('holds: backpressure for a reader slower than its sender', () => {
  it('holds the channel while a reading connection is behind, releases it as it drains, and loses nothing', async () => {
    const { router, peer } = await open({
      connReceiveBufferBytes: 16 * CHUNK,
      connReceiveHold: { bytes: HOLD_BYTES, activityMs: 1_000, maxMs: 2_000 },
    });
    const slow = await dial(router, peer);
    const sibling = await dial(router, peer);
    await takeOneChunk(peer, slow);

    // Twice the bound, far more than the connection may hold: the channel is held instead.
    flood(peer, slow.connId, 32);
    expect(await waitFor(() => slow.holdingChannel)).toBe(true);
    expect(router.channel.readingHeld).toBe(true);
    sendText(peer, sibling.connId, 'behind the hold');
    const siblingGot = receive(sibling, 15, 10_000);
    await sleep(200);
    expect(slow.receiveBuffered).toBeLessThanOrEqual(HOLD_BYTES + 2 * CHUNK);
    expect(slow.receiveBuffered).toBeGreaterThan(HOLD_BYTES);

    // The reader takes a chunk every 20 ms: every byte arrives, in order, with the channel held in between.
    const parts: Buffer[] = [];
    let got = 0;
    for (let i = 0; i < 1_000 && got < 32 * CHUNK; i++) {
      const chunk = slow.read(CHUNK) as Buffer | null;
      if (chunk) {
        parts.push(chunk);
        got += chunk.length;
      }
      await sleep(20);
    }
    const all = Buffer.concat(parts);
    expect(all.length).toBe(32 * CHUNK);
    for (let i = 0; i < 32; i++) expect(all[i * CHUNK]).toBe(i & 0xff);
    expect((await siblingGot).toString()).toBe('behind the hold');
    console.log(
      `slow reader: ${slow.receiveHolds} holds, ${slow.receiveHeldMs} ms held, peak ${slow.receiveBufferPeak} bytes`,
    );
    expect(slow.receiveHolds).toBeGreaterThanOrEqual(2);
    expect(slow.receiveBufferPeak).toBeLessThanOrEqual(HOLD_BYTES + 2 * CHUNK);
    expect(slow.destroyed).toBe(false);
    expect(slow.holdingChannel).toBe(false);
    expect(router.channel.readingHeld).toBe(false);
  });

  it('never holds for a reader that has not read, and releases the hold of one that stopped', async () => {
    const { router, peer } = await open({
      connReceiveBufferBytes: 16 * CHUNK,
      connReceiveHold: { bytes: HOLD_BYTES, activityMs: 300, maxMs: 60_000 },
    });
    const unread = await dial(router, peer);
    const stopped = await dial(router, peer);
    const sibling = await dial(router, peer);
    const unreadError = new Promise<Error>((resolve) => unread.once('error', resolve));
    const stoppedError = new Promise<Error>((resolve) => stopped.once('error', resolve));

    flood(peer, unread.connId, 20);
    expect(await unreadError).toBeInstanceOf(ReceiveOverflowError);
    expect(unread.receiveHolds).toBe(0);

    // Reads once, then stops: it holds while its last read is recent, then lets go (long before the cap)
    // and overflows alone.
    await takeOneChunk(peer, stopped);
    flood(peer, stopped.connId, 20);
    expect(await waitFor(() => stopped.holdingChannel)).toBe(true);
    sendText(peer, sibling.connId, 'after the window');
    expect((await receive(sibling, 16, 10_000)).toString()).toBe('after the window');
    expect(await stoppedError).toBeInstanceOf(ReceiveOverflowError);
    console.log(`stopped reader: ${stopped.receiveHolds} hold, ${stopped.receiveHeldMs} ms held`);
    expect(stopped.receiveHolds).toBe(1);
    expect(router.channel.readingHeld).toBe(false);
    expect(router.channel.closed).toBe(false);
  });

  it('releases a hold at its cap even while the reader trickles, and does not hold again before draining', async () => {
    const { router, peer } = await open({
      connReceiveBufferBytes: 16 * CHUNK,
      connReceiveHold: { bytes: HOLD_BYTES, activityMs: 300, maxMs: 600 },
    });
    const trickle = await dial(router, peer);
    const sibling = await dial(router, peer);
    const trickleError = new Promise<Error>((resolve) => trickle.once('error', resolve));
    await takeOneChunk(peer, trickle);
    flood(peer, trickle.connId, 20);
    expect(await waitFor(() => trickle.holdingChannel)).toBe(true);
    sendText(peer, sibling.connId, 'past the cap');
    const siblingGot = receive(sibling, 12, 10_000);

    // One byte every 50 ms: always recent progress, never drained, so only the cap ends the hold.
    let gone = false;
    void trickleError.then(() => (gone = true));
    for (let i = 0; i < 200 && !gone; i++) {
      trickle.read(1);
      await sleep(50);
    }
    expect((await siblingGot).toString()).toBe('past the cap');
    expect(await trickleError).toBeInstanceOf(ReceiveOverflowError);
    console.log(`trickling reader: ${trickle.receiveHolds} hold, ${trickle.receiveHeldMs} ms held`);
    expect(trickle.receiveHolds).toBe(1);
    expect(router.channel.readingHeld).toBe(false);
  });

  it('does not take a held time for a dead link, and still probes once the hold ends', async () => {
    const { router, peer } = await open({
      probeIntervalMs: 100,
      probeTimeoutMs: 300,
      connReceiveBufferBytes: 64 * CHUNK,
      connReceiveHold: { bytes: HOLD_BYTES, activityMs: 1_000, maxMs: 1_500 },
    });
    let answering = true;
    const answerer = (async () => {
      while (answering) {
        const probe = await peer.nextOfType(ChannelContentType.latency, 200).catch(() => undefined);
        if (probe) peer.reply(probe, resultMessage(true));
      }
    })();
    const slow = await dial(router, peer);
    slow.on('error', () => undefined);
    await takeOneChunk(peer, slow);
    flood(peer, slow.connId, 16);
    expect(await waitFor(() => slow.holdingChannel)).toBe(true);
    // Held for its whole cap (five probe timeouts) by a reader taking a byte every 100 ms.
    for (let i = 0; i < 100 && slow.holdingChannel; i++) {
      slow.read(1);
      await sleep(100);
    }
    const answeredAfterHold = router.channel.probesAnswered;
    expect(await waitFor(() => router.channel.probesAnswered > answeredAfterHold + 2)).toBe(true);
    answering = false;
    await answerer;
    console.log(
      `held ${slow.receiveHeldMs} ms with a 300 ms probe timeout; channel held ${router.channel.readingHeldMs} ms`,
    );
    expect(slow.receiveHolds).toBe(1);
    expect(router.channel.closed).toBe(false);
  });

  it('never holds when maxMs is 0, and refuses hold options that are not whole numbers in range', async () => {
    const { router, peer } = await open({
      connReceiveBufferBytes: 16 * CHUNK,
      connReceiveHold: { bytes: HOLD_BYTES, maxMs: 0 },
    });
    const conn = await dial(router, peer);
    await takeOneChunk(peer, conn);
    flood(peer, conn.connId, 12);
    expect(await waitFor(() => conn.receiveBuffered === 12 * CHUNK)).toBe(true);
    expect(conn.receiveHolds).toBe(0);

    for (const bad of [
      { bytes: 0 },
      { activityMs: 0 },
      { maxMs: -1 },
      { bytes: 1.5 },
      { maxMs: Number.NaN },
    ]) {
      await expect(
        connectChannel({
          url: 'tls://127.0.0.1:1',
          tls: { cert: pki().client.certPem, key: pki().client.keyPem, ca: [pki().ca.certPem] },
          apiSessionToken: 'api',
          connReceiveHold: bad,
        }),
      ).rejects.toThrow(InvalidChannelOptionError);
    }
  });
});
