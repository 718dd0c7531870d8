import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameDecoder } from '../../../src/ziti/channel/codec.js';
import { ChannelProtocolError } from '../../../src/ziti/channel/errors.js';
import {
  getBool,
  getInt32,
  getString,
  getUint32,
  getUint64,
  markReply,
  newMessage,
  putBool,
  putString,
  putUint32,
  putUint64,
  replyFor,
  type Message,
} from '../../../src/ziti/channel/message.js';
import { ChannelHeader, HELLO_SEQUENCE } from '../../../src/ziti/channel/protocol.js';

function sample(body: Buffer, seq = 7): Message {
  const msg = newMessage(60786, body);
  msg.sequence = seq;
  putUint32(msg.headers, 1000, 0xfffffff0);
  putString(msg.headers, 1008, 'caller-é');
  putUint64(msg.headers, ChannelHeader.heartbeat, 0x0123456789abcdefn);
  putBool(msg.headers, 1024, true);
  msg.headers.set(1003, Buffer.alloc(0));
  return msg;
}

function expectSame(a: Message, b: Message): void {
  expect(b.contentType).toBe(a.contentType);
  expect(b.sequence).toBe(a.sequence);
  expect([...b.headers.keys()]).toEqual([...a.headers.keys()]);
  for (const [k, v] of a.headers) expect(b.headers.get(k)?.equals(v)).toBe(true);
  expect(b.body.equals(a.body)).toBe(true);
}

describe('channel frame codec', () => {
  it('lays a frame out as magic, four little-endian int32s, headers, body', () => {
    const msg = newMessage(0, 'hi');
    msg.sequence = HELLO_SEQUENCE;
    putString(msg.headers, 1002, 'tok');
    const frame = encodeFrame(msg);
    expect(frame.subarray(0, 4).toString('hex')).toBe('0306090c');
    expect(frame.readInt32LE(4)).toBe(0);
    expect(frame.readInt32LE(8)).toBe(-1);
    expect(frame.readInt32LE(12)).toBe(8 + 3);
    expect(frame.readInt32LE(16)).toBe(2);
    expect(frame.readInt32LE(20)).toBe(1002);
    expect(frame.readInt32LE(24)).toBe(3);
    expect(frame.subarray(28, 31).toString()).toBe('tok');
    expect(frame.subarray(31).toString()).toBe('hi');
  });

  it('round-trips headers of every encoding and the body', () => {
    const msg = sample(randomBytes(1000));
    const back = decodeFrame(encodeFrame(msg));
    expectSame(msg, back);
    expect(getUint32(back.headers, 1000)).toBe(0xfffffff0);
    expect(getString(back.headers, 1008)).toBe('caller-é');
    expect(getUint64(back.headers, ChannelHeader.heartbeat)).toBe(0x0123456789abcdefn);
    expect(getBool(back.headers, 1024)).toBe(true);
    expect(getUint32(back.headers, 1008)).toBeUndefined();
  });

  it('reassembles frames split at every byte and frames packed together', () => {
    const messages = [sample(randomBytes(3), 1), sample(Buffer.alloc(0), 2), sample(randomBytes(70_000), 3)];
    const stream = Buffer.concat(messages.map(encodeFrame));
    const decoder = new FrameDecoder();
    const out: Message[] = [];
    for (let i = 0; i < stream.length; i += 1) {
      const step = i < 200 ? 1 : 997;
      out.push(...decoder.push(stream.subarray(i, i + step)));
      if (step > 1) i += step - 1;
    }
    expect(out).toHaveLength(3);
    messages.forEach((m, i) => expectSame(m, out[i]!));
    expect(decoder.pendingBytes).toBe(0);

    const all = new FrameDecoder().push(stream);
    expect(all.map((m) => m.sequence)).toEqual([1, 2, 3]);
  });

  it('rejects frames over the size limit before buffering them', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
    const frame = encodeFrame(sample(Buffer.alloc(2048)));
    expect(() => decoder.push(frame.subarray(0, 20))).toThrow(ChannelProtocolError);
  });

  it('rejects a bad magic and names an unknown-version answer', () => {
    expect(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(/bad frame magic/);
    const versions = Buffer.from([3, 6, 9, 10, 1, 0, 0, 0, 2, 0, 0, 0]);
    expect(() => new FrameDecoder().push(versions)).toThrow(/version 2/);
  });

  it('rejects truncated headers', () => {
    const msg = sample(Buffer.from('x'));
    const frame = encodeFrame(msg);
    frame.writeUInt32LE(9999, 24); // the first header now claims more bytes than exist
    expect(() => decodeFrame(frame)).toThrow(ChannelProtocolError);
  });

  it('marks replies with the request sequence and reflects header 128', () => {
    const request = newMessage(3);
    request.sequence = 41;
    putUint64(request.headers, ChannelHeader.reflected, 99n);
    const reply = markReply(newMessage(2), request);
    const back = decodeFrame(encodeFrame(reply));
    expect(replyFor(back)).toBe(41);
    expect(getUint64(back.headers, ChannelHeader.reflected)).toBe(99n);
    const hello = markReply(newMessage(2), { ...newMessage(0), sequence: HELLO_SEQUENCE });
    expect(getInt32(hello.headers, ChannelHeader.replyFor)).toBe(-1);
    expect(replyFor(newMessage(2))).toBeUndefined();
  });
});
