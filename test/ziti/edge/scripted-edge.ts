/**
 * The edge layer over a real channel to a scripted router, for unit tests: call `useScriptedEdge()` at the top
 * of a test file; it makes the test PKI once and closes the router and channel after each test.
 */
import { afterEach, beforeAll } from 'vitest';
import type { ConnectChannelOptions } from '../../../src/ziti/channel/connect.js';
import { newMessage, putUint32 } from '../../../src/ziti/channel/message.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import { EdgeContentType, EdgeHeader } from '../../../src/ziti/edge/protocol.js';
import { EdgeRouter } from '../../../src/ziti/edge/router.js';
import {
  makePki,
  openScriptedChannel,
  type PeerSession,
  type ScriptedRouter,
  type TestPki,
} from '../channel/peer.js';

export type OpenScriptedEdge = (
  extra?: Partial<ConnectChannelOptions>,
) => Promise<{ router: EdgeRouter; peer: PeerSession }>;

export function useScriptedEdge(): { open: OpenScriptedEdge; pki: () => TestPki } {
  let pki: TestPki | undefined;
  let scripted: ScriptedRouter | undefined;
  let edge: EdgeRouter | undefined;
  beforeAll(async () => {
    pki = await makePki();
  });
  afterEach(async () => {
    edge?.close();
    await scripted?.close();
    edge = undefined;
    scripted = undefined;
  });
  const current = (): TestPki => {
    if (!pki) throw new Error('the test PKI is made in beforeAll');
    return pki;
  };
  const open: OpenScriptedEdge = async (extra = {}) => {
    const opened = await openScriptedChannel(current(), extra);
    scripted = opened.scripted;
    edge = new EdgeRouter(opened.channel, 'er-1', scripted.url);
    return { router: edge, peer: opened.peer };
  };
  return { open, pki: current };
}

/** The size of the data messages flood() sends. */
export const CHUNK = 64 * 1024;

/** Dials service 'svc' through the scripted router, which accepts the connection. */
export async function dial(router: EdgeRouter, peer: PeerSession): Promise<EdgeConn> {
  const dialing = router.dial({ service: 'svc', sessionToken: 't', encrypted: false, timeoutMs: 5_000 });
  const connect = await peer.nextOfType(EdgeContentType.connect);
  peer.reply(connect, newMessage(EdgeContentType.stateConnected));
  return dialing;
}

/** The router sends `chunks` data messages of 64 KiB to a connection. */
export function flood(peer: PeerSession, connId: number, chunks: number): void {
  for (let i = 0; i < chunks; i++) {
    const msg = newMessage(EdgeContentType.data, Buffer.alloc(CHUNK, i & 0xff));
    putUint32(msg.headers, EdgeHeader.connId, connId);
    peer.send(msg);
  }
}

/** Resolves with the first `bytes` bytes the connection yields, or rejects after timeoutMs. */
export function receive(conn: EdgeConn, bytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(
      () => reject(new Error(`only ${got} of ${bytes} bytes arrived within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      got += chunk.length;
      if (got >= bytes) {
        clearTimeout(timer);
        conn.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    conn.on('data', onData);
  });
}
