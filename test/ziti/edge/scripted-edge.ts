/**
 * The edge layer over a real channel to a scripted router, for unit tests: call `useScriptedEdge()` at the top
 * of a test file; it makes the test PKI once and closes the router and channel after each test.
 */
import { afterEach, beforeAll } from 'vitest';
import type { ConnectChannelOptions } from '../../../src/ziti/channel/connect.js';
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
