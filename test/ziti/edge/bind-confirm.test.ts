/**
 * A router answers a Bind at once and confirms it (BindSuccess) when the controller has created the
 * terminator. A server whose bind stays unconfirmed ends it (Unbind) and binds again, so that a terminator
 * request the router lost does not leave the service unreachable; a confirmed bind is left alone.
 */
import { describe, expect, it } from 'vitest';
import { getUint32, newMessage, putUint32, type Message } from '../../../src/ziti/channel/message.js';
import { ChannelTimeoutError } from '../../../src/ziti/channel/errors.js';
import { EdgeContentType, EdgeHeader } from '../../../src/ziti/edge/protocol.js';
import type { EdgeRouter } from '../../../src/ziti/edge/router.js';
import { ZitiServer, type ServerState } from '../../../src/ziti/edge/server.js';
import type { PeerSession } from '../channel/peer.js';
import { useScriptedEdge } from './scripted-edge.js';

const { open } = useScriptedEdge();

function server(router: EdgeRouter, confirmTimeoutMs: number): ZitiServer {
  return new ZitiServer(
    'svc',
    () => router.bind({ service: 'svc', sessionToken: 'bind-tok', timeoutMs: 5_000 }),
    { terminators: 1, confirmTimeoutMs, rebind: { initialDelayMs: 10 } },
  );
}

/** The router takes the next Bind (StateConnected) and returns it; confirms it too when asked. */
async function takeBind(peer: PeerSession, confirm: boolean): Promise<Message> {
  const bind = await peer.nextOfType(EdgeContentType.bind, 5_000);
  peer.reply(bind, newMessage(EdgeContentType.stateConnected));
  if (confirm) {
    const success = newMessage(EdgeContentType.bindSuccess);
    putUint32(success.headers, EdgeHeader.connId, getUint32(bind.headers, EdgeHeader.connId)!);
    peer.send(success);
  }
  return bind;
}

describe('a bind its router does not confirm', () => {
  it('is ended and replaced after confirmTimeoutMs; the replacement, once confirmed, stays', async () => {
    const { router, peer } = await open();
    const srv = server(router, 300);
    const states: ServerState[] = [];
    srv.on('state', (s) => states.push(s));
    const starting = srv.start();
    const first = await takeBind(peer, false);
    await starting;
    const ready = srv.ready(10_000);

    const unbind = await peer.nextOfType(EdgeContentType.unbind, 5_000);
    const firstId = getUint32(first.headers, EdgeHeader.connId);
    expect(getUint32(unbind.headers, EdgeHeader.connId)).toBe(firstId);
    const second = await takeBind(peer, true);
    expect(getUint32(second.headers, EdgeHeader.connId)).not.toBe(firstId);
    await ready;
    expect(srv.established).toBe(true);

    const rebinding = states.find((s) => s.state === 'rebinding');
    expect(rebinding?.state === 'rebinding' && rebinding.reason).toBeInstanceOf(ChannelTimeoutError);
    expect(rebinding?.state === 'rebinding' && rebinding.reason.message).toContain(
      'confirmation of the bind of service "svc" on edge router "er-1"',
    );
    expect(states.at(-1)).toMatchObject({ state: 'bound-again', router: 'er-1' });

    // Confirmed now: well past the timeout, no further Unbind or Bind.
    const more = await peer.nextOfType(EdgeContentType.unbind, 900).catch(() => undefined);
    expect(more).toBeUndefined();
    await srv.close();
  });

  it('is kept when confirmed in time, and with confirmTimeoutMs 0 waits for ever', async () => {
    const { router, peer } = await open();
    const confirmed = server(router, 300);
    const starting = confirmed.start();
    await takeBind(peer, true);
    await starting;
    await confirmed.ready(5_000);
    const patient = server(router, 0);
    const starting2 = patient.start();
    await takeBind(peer, false);
    await starting2;
    const more = await peer.nextOfType(EdgeContentType.unbind, 900).catch(() => undefined);
    expect(more).toBeUndefined();
    expect(confirmed.established).toBe(true);
    expect(patient.listening).toBe(true);
    expect(patient.established).toBe(false);
    await confirmed.close();
    await patient.close();
  });
});
