/**
 * Message sequences of dial and bind against a scripted router (framing and ordering only; the real router
 * is exercised under test/ziti/e2e).
 */
import { describe, expect, it } from 'vitest';
import { getByte, getString, getUint32, newMessage, putUint32 } from '../../../src/ziti/channel/message.js';
import { ConnCrypto, newKeyPair } from '../../../src/ziti/crypto/e2ee.js';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import { DialFailedError } from '../../../src/ziti/edge/errors.js';
import { EdgeContentType, EdgeFlag, EdgeHeader } from '../../../src/ziti/edge/protocol.js';
import { ConnectionClosedByRouterError } from '../../../src/ziti/errors.js';
import { useScriptedEdge } from './scripted-edge.js';

const { open } = useScriptedEdge();

function data(connId: number, body: Buffer, flags = 0): ReturnType<typeof newMessage> {
  const msg = newMessage(EdgeContentType.data, body);
  putUint32(msg.headers, EdgeHeader.connId, connId);
  if (flags) putUint32(msg.headers, EdgeHeader.flags, flags);
  return msg;
}

function readAll(conn: EdgeConn): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    conn.on('data', (c: Buffer) => parts.push(c));
    conn.once('end', () => resolve(Buffer.concat(parts)));
    conn.once('error', reject);
  });
}

describe('edge messages over a channel', () => {
  it('dials with e2ee: Connect, StateConnected with the host key, header first, FIN on end, StateClosed last', async () => {
    const { router, peer } = await open();
    const hostKeys = await newKeyPair();
    const dialing = router.dial({
      service: 'svc',
      sessionToken: 'dial-tok',
      encrypted: true,
      callerId: 'me',
      timeoutMs: 5_000,
    });
    const connect = await peer.nextOfType(EdgeContentType.connect);
    expect(connect.body.toString()).toBe('dial-tok');
    expect(getString(connect.headers, EdgeHeader.callerId)).toBe('me');
    expect(getByte(connect.headers, EdgeHeader.cryptoMethod)).toBe(0);
    const clientKey = connect.headers.get(EdgeHeader.publicKey)!;
    expect(clientKey).toHaveLength(32);
    const connId = getUint32(connect.headers, EdgeHeader.connId)!;
    const host = await ConnCrypto.create('server', hostKeys, clientKey);
    const ok = newMessage(EdgeContentType.stateConnected);
    putUint32(ok.headers, EdgeHeader.connId, connId);
    ok.headers.set(EdgeHeader.publicKey, Buffer.from(hostKeys.publicKey));
    peer.reply(connect, ok);
    // The host's header and first data may arrive right behind the answer.
    peer.send(data(connId, host.txHeader));
    peer.send(data(connId, host.encrypt(Buffer.from('from host'))));
    const conn = await dialing;
    expect(conn.encrypted).toBe(true);

    const header = await peer.nextOfType(EdgeContentType.data);
    host.acceptHeader(header.body);
    conn.write('hello host');
    const sealed = await peer.nextOfType(EdgeContentType.data);
    expect(getUint32(sealed.headers, EdgeHeader.connId)).toBe(connId);
    expect(host.decrypt(sealed.body).toString()).toBe('hello host');

    const received = readAll(conn);
    conn.end();
    const fin = await peer.nextOfType(EdgeContentType.data);
    expect(getUint32(fin.headers, EdgeHeader.flags)! & EdgeFlag.fin).toBe(EdgeFlag.fin);
    expect(fin.body).toHaveLength(0);
    peer.send(data(connId, Buffer.alloc(0), EdgeFlag.fin));
    expect((await received).toString()).toBe('from host');
    const closed = await peer.nextOfType(EdgeContentType.stateClosed);
    expect(getUint32(closed.headers, EdgeHeader.connId)).toBe(connId);
    expect(router.connCount).toBe(0);
  });

  it('turns a StateClosed answer into DialFailedError naming the service and the reason', async () => {
    const { router, peer } = await open();
    const dialing = router.dial({ service: 'svc', sessionToken: 't', encrypted: false, timeoutMs: 5_000 });
    const connect = await peer.nextOfType(EdgeContentType.connect);
    expect(connect.headers.has(EdgeHeader.publicKey)).toBe(false);
    peer.reply(connect, newMessage(EdgeContentType.stateClosed, 'service svc has no terminators'));
    await expect(dialing).rejects.toThrow(DialFailedError);
    await expect(dialing).rejects.toThrow(/no terminators/);
  });

  it('ends the reader, records the reason and closes when the router closes a connection', async () => {
    const { router, peer } = await open();
    const dialing = router.dial({ service: 'svc', sessionToken: 't', encrypted: false, timeoutMs: 5_000 });
    const connect = await peer.nextOfType(EdgeContentType.connect);
    const connId = getUint32(connect.headers, EdgeHeader.connId)!;
    peer.reply(connect, newMessage(EdgeContentType.stateConnected));
    const conn = await dialing;
    const gone = new Promise((r) => conn.once('close', r));
    const closedMsg = newMessage(EdgeContentType.stateClosed, 'circuit torn down');
    putUint32(closedMsg.headers, EdgeHeader.connId, connId);
    peer.send(data(connId, Buffer.from('last words')));
    peer.send(closedMsg);
    expect((await readAll(conn)).toString()).toBe('last words');
    await gone;
    expect(conn.closeReason).toBe('circuit torn down');
    expect(router.connCount).toBe(0);
  });

  it('fails open connections with ConnectionClosedByRouterError when the channel dies', async () => {
    const { router, peer } = await open();
    const dialing = router.dial({ service: 'svc', sessionToken: 't', encrypted: false, timeoutMs: 5_000 });
    const connect = await peer.nextOfType(EdgeContentType.connect);
    peer.reply(connect, newMessage(EdgeContentType.stateConnected));
    const conn = await dialing;
    const failed = new Promise<Error>((resolve) => conn.once('error', resolve));
    peer.socket.destroy();
    expect(await failed).toBeInstanceOf(ConnectionClosedByRouterError);
  });

  it('hosts: Bind, then answers a router Dial with DialSuccess naming the router-chosen id', async () => {
    const { router, peer } = await open();
    const hostKeys = await newKeyPair();
    const binding = router.bind({
      service: 'svc',
      sessionToken: 'bind-tok',
      keyPair: hostKeys,
      timeoutMs: 5_000,
    });
    const bind = await peer.nextOfType(EdgeContentType.bind);
    expect(bind.body.toString()).toBe('bind-tok');
    expect(bind.headers.get(EdgeHeader.routerProvidedConnId)?.[0]).toBe(1);
    expect(bind.headers.get(EdgeHeader.supportsBindSuccess)?.[0]).toBe(1);
    expect(Buffer.from(bind.headers.get(EdgeHeader.publicKey)!).equals(Buffer.from(hostKeys.publicKey))).toBe(
      true,
    );
    const listenerId = getUint32(bind.headers, EdgeHeader.connId)!;
    peer.reply(bind, newMessage(EdgeContentType.stateConnected));
    const listener = await binding;
    const established = new Promise<void>((r) => listener.once('established', r));
    const success = newMessage(EdgeContentType.bindSuccess);
    putUint32(success.headers, EdgeHeader.connId, listenerId);
    peer.send(success);
    await established;

    const clientKeys = await newKeyPair();
    const accepted = new Promise<EdgeConn>((r) => listener.once('connection', r));
    const dial = newMessage(EdgeContentType.dial, 'bind-tok');
    putUint32(dial.headers, EdgeHeader.connId, listenerId);
    putUint32(dial.headers, EdgeHeader.routerProvidedConnId, 0x80000005);
    dial.headers.set(EdgeHeader.callerId, Buffer.from('client-identity'));
    dial.headers.set(EdgeHeader.publicKey, Buffer.from(clientKeys.publicKey));
    peer.send(dial);
    const answer = await peer.nextOfType(EdgeContentType.dialSuccess);
    expect(getUint32(answer.headers, EdgeHeader.connId)).toBe(listenerId);
    expect(answer.body.readUInt32LE(0)).toBe(0x80000005);
    const conn = await accepted;
    expect(conn.callerId).toBe('client-identity');
    expect(conn.connId).toBe(0x80000005);
    const header = await peer.nextOfType(EdgeContentType.data);
    expect(getUint32(header.headers, EdgeHeader.connId)).toBe(0x80000005);
    const client = await ConnCrypto.create('client', clientKeys, hostKeys.publicKey);
    client.acceptHeader(header.body);
    conn.write('served');
    expect(client.decrypt((await peer.nextOfType(EdgeContentType.data)).body).toString()).toBe('served');

    const badDial = newMessage(EdgeContentType.dial, 'other-token');
    putUint32(badDial.headers, EdgeHeader.connId, listenerId);
    peer.send(badDial);
    expect((await peer.nextOfType(EdgeContentType.dialFailed)).body.toString()).toBe('invalid token');

    const inspect = newMessage(EdgeContentType.connInspectRequest);
    putUint32(inspect.headers, EdgeHeader.connId, listenerId);
    peer.send(inspect);
    const inspected = await peer.nextOfType(EdgeContentType.connInspectResponse);
    expect(getByte(inspected.headers, EdgeHeader.connType)).toBe(2);

    await listener.close();
    const unbind = await peer.nextOfType(EdgeContentType.unbind);
    expect(unbind.body.toString()).toBe('bind-tok');
    expect(getUint32(unbind.headers, EdgeHeader.connId)).toBe(listenerId);
    conn.destroy();
  });
});
