/**
 * Writes that queue up on a connection go to the router together: one data message per 64 KiB rather than one
 * per write, in order and with nothing lost, while a single large write is still cut at 64 KiB.
 */
import { describe, expect, it } from 'vitest';
import { getUint32, type Message } from '../../../src/ziti/channel/message.js';
import { MAX_DATA_CHUNK } from '../../../src/ziti/edge/conn.js';
import { EdgeContentType, EdgeHeader } from '../../../src/ziti/edge/protocol.js';
import type { PeerSession } from '../channel/peer.js';
import { dial, useScriptedEdge } from './scripted-edge.js';

const { open } = useScriptedEdge();

/** Data messages of `connId` the router received until their bodies add up to `bytes`. */
async function dataUntil(peer: PeerSession, connId: number, bytes: number): Promise<Message[]> {
  const got: Message[] = [];
  let total = 0;
  while (total < bytes) {
    const msg = await peer.next(
      (m) => m.contentType === EdgeContentType.data && getUint32(m.headers, EdgeHeader.connId) === connId,
      5_000,
    );
    got.push(msg);
    total += msg.body.length;
  }
  return got;
}

describe('writes batched into data messages', () => {
  it('sends 200 queued writes of 100 bytes as one message, in order', async () => {
    const { router, peer } = await open();
    const conn = await dial(router, peer);
    const pieces = Array.from({ length: 200 }, (_, i) => Buffer.alloc(100, i));
    conn.cork();
    for (const piece of pieces) conn.write(piece);
    process.nextTick(() => conn.uncork());
    const messages = await dataUntil(peer, conn.connId, 200 * 100);
    expect(messages).toHaveLength(1);
    expect(Buffer.concat(messages.map((m) => m.body)).equals(Buffer.concat(pieces))).toBe(true);
    conn.destroy();
  });

  it('still cuts what queued up, and one large write, at 64 KiB per message', async () => {
    const { router, peer } = await open();
    const conn = await dial(router, peer);
    const pieces = Array.from({ length: 50 }, (_, i) => Buffer.alloc(4096, i));
    conn.cork();
    for (const piece of pieces) conn.write(piece);
    process.nextTick(() => conn.uncork());
    const queued = await dataUntil(peer, conn.connId, 50 * 4096);
    expect(queued.map((m) => m.body.length)).toEqual([MAX_DATA_CHUNK, MAX_DATA_CHUNK, MAX_DATA_CHUNK, 8192]);
    expect(Buffer.concat(queued.map((m) => m.body)).equals(Buffer.concat(pieces))).toBe(true);

    const large = Buffer.alloc(MAX_DATA_CHUNK * 2 + 10, 7);
    conn.write(large);
    const cut = await dataUntil(peer, conn.connId, large.length);
    expect(cut.map((m) => m.body.length)).toEqual([MAX_DATA_CHUNK, MAX_DATA_CHUNK, 10]);
    conn.destroy();
  });
});
