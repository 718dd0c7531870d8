import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../../src/ziti/channel/codec.js';
import { getBool, getByte, getString, getUint32 } from '../../../src/ziti/channel/message.js';
import {
  bindMessage,
  connectMessage,
  dataMessage,
  dialSuccessMessage,
  stateClosedMessage,
  unbindMessage,
} from '../../../src/ziti/edge/messages.js';
import { EdgeContentType, EdgeFlag, EdgeHeader } from '../../../src/ziti/edge/protocol.js';

const roundTrip = <T extends Parameters<typeof encodeFrame>[0]>(m: T) => decodeFrame(encodeFrame(m));

describe('edge message builders', () => {
  it('uses the edge content type numbers', () => {
    expect(EdgeContentType).toMatchObject({
      connect: 60783,
      stateConnected: 60784,
      stateClosed: 60785,
      data: 60786,
      dial: 60787,
      dialSuccess: 60788,
      dialFailed: 60789,
      bind: 60790,
      unbind: 60791,
      bindSuccess: 60800,
    });
  });

  it('builds Connect with the token as body and the optional e2ee, caller and terminator headers', () => {
    const key = new Uint8Array(32).fill(9);
    const msg = roundTrip(
      connectMessage(5, 'tok', { publicKey: key, callerId: 'me', terminatorIdentity: 'inst' }),
    );
    expect(msg.contentType).toBe(EdgeContentType.connect);
    expect(msg.body.toString()).toBe('tok');
    expect(getUint32(msg.headers, EdgeHeader.connId)).toBe(5);
    expect(msg.headers.get(EdgeHeader.publicKey)?.equals(Buffer.from(key))).toBe(true);
    expect(getByte(msg.headers, EdgeHeader.cryptoMethod)).toBe(0);
    expect(getString(msg.headers, EdgeHeader.callerId)).toBe('me');
    expect(getString(msg.headers, EdgeHeader.terminatorIdentity)).toBe('inst');
    const plain = roundTrip(connectMessage(6, 'tok'));
    expect(plain.headers.has(EdgeHeader.publicKey)).toBe(false);
    expect(plain.headers.has(EdgeHeader.cryptoMethod)).toBe(false);
  });

  it('builds Bind asking for router-assigned ids, with cost and precedence when given', () => {
    const msg = roundTrip(bindMessage(7, 'bind-tok', { cost: 300, precedence: 'required' }));
    expect(msg.contentType).toBe(EdgeContentType.bind);
    expect(getBool(msg.headers, EdgeHeader.routerProvidedConnId)).toBe(true);
    expect(getBool(msg.headers, EdgeHeader.supportsBindSuccess)).toBe(true);
    expect(msg.headers.get(EdgeHeader.cost)?.readUInt16LE(0)).toBe(300);
    expect(getByte(msg.headers, EdgeHeader.precedence)).toBe(1);
    const plain = roundTrip(bindMessage(7, 'bind-tok'));
    expect(plain.headers.has(EdgeHeader.cost)).toBe(false);
    expect(plain.headers.has(EdgeHeader.precedence)).toBe(false);
  });

  it('builds data (with FIN flag), StateClosed, Unbind and DialSuccess', () => {
    const fin = roundTrip(dataMessage(9, 3, Buffer.alloc(0), EdgeFlag.fin));
    expect(getUint32(fin.headers, EdgeHeader.flags)).toBe(1);
    expect(getUint32(fin.headers, EdgeHeader.seq)).toBe(3);
    expect(roundTrip(dataMessage(9, 4, Buffer.from('x'))).headers.has(EdgeHeader.flags)).toBe(false);
    expect(roundTrip(stateClosedMessage(9, 5, 'bye')).body.toString()).toBe('bye');
    expect(roundTrip(unbindMessage(2, 'bind-tok')).contentType).toBe(EdgeContentType.unbind);
    const ok = roundTrip(dialSuccessMessage(2, 0x80000001));
    expect(getUint32(ok.headers, EdgeHeader.connId)).toBe(2);
    expect(ok.body.readUInt32LE(0)).toBe(0x80000001);
  });
});
