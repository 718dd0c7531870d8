/** Binary frames on their own: encoding, decoding across any chunking, limits; and pausing line decoding. */
import { describe, expect, it } from 'vitest';
import {
  FRAME_MESSAGE,
  FRAME_TERMINAL,
  FrameDecoder,
  encodeFrame,
  messageFrame,
} from '../../src/protocol/frames.js';
import { LineDecoder } from '../../src/protocol/framing.js';
import { NO_FRAMING_SWITCH, attachFramingSwitch } from '../../src/protocol/framing-switch.js';

interface Seen {
  frames: [number, string][];
  oversize: [number, number][];
  truncated: number[];
}

function decoder(maxFrameBytes = 1024): { dec: FrameDecoder; seen: Seen } {
  const seen: Seen = { frames: [], oversize: [], truncated: [] };
  const dec = new FrameDecoder({
    maxFrameBytes,
    onFrame: (type, payload) => seen.frames.push([type, payload.toString('latin1')]),
    onOversize: (type, bytes) => seen.oversize.push([type, bytes]),
    onTruncated: (bytes) => seen.truncated.push(bytes),
  });
  return { dec, seen };
}

describe('binary frames', () => {
  it('encodes a type byte, a big-endian length and the payload', () => {
    expect([...encodeFrame(FRAME_TERMINAL, Buffer.from('hi'))]).toEqual([0, 0, 0, 0, 2, 0x68, 0x69]);
    expect([...encodeFrame(FRAME_MESSAGE, 'é')]).toEqual([1, 0, 0, 0, 2, 0xc3, 0xa9]);
    expect(messageFrame('{"a":1}\n').subarray(5).toString()).toBe('{"a":1}');
    expect(encodeFrame(FRAME_TERMINAL, Buffer.alloc(70_000)).readUInt32BE(1)).toBe(70_000);
  });

  it('decodes the same frames however the bytes are split', () => {
    const stream = Buffer.concat([
      encodeFrame(FRAME_TERMINAL, Buffer.from('abc')),
      encodeFrame(FRAME_MESSAGE, '{"jsonrpc":"2.0","method":"event"}'),
      encodeFrame(FRAME_TERMINAL, Buffer.alloc(0)),
      encodeFrame(7, Buffer.from('x'.repeat(300))),
    ]);
    const expected: [number, string][] = [
      [0, 'abc'],
      [1, '{"jsonrpc":"2.0","method":"event"}'],
      [0, ''],
      [7, 'x'.repeat(300)],
    ];
    for (const size of [1, 2, 3, 5, 6, 7, 64, stream.length]) {
      const { dec, seen } = decoder();
      for (let at = 0; at < stream.length; at += size) dec.push(stream.subarray(at, at + size));
      expect(seen.frames, `chunks of ${size}`).toEqual(expected);
      dec.end();
      expect(seen.truncated).toEqual([]);
    }
  });

  it('skips an over-long frame and stays in step', () => {
    const { dec, seen } = decoder(16);
    const stream = Buffer.concat([
      encodeFrame(FRAME_TERMINAL, Buffer.from('x'.repeat(40))),
      encodeFrame(FRAME_TERMINAL, Buffer.from('after')),
    ]);
    dec.push(stream.subarray(0, 10));
    dec.push(stream.subarray(10));
    expect(seen.oversize).toEqual([[0, 40]]);
    expect(seen.frames).toEqual([[0, 'after']]);
  });

  it('reports a stream that ends inside a frame', () => {
    const { dec, seen } = decoder();
    dec.push(encodeFrame(FRAME_TERMINAL, Buffer.from('abcdef')).subarray(0, 8));
    dec.end();
    expect(seen.frames).toEqual([]);
    expect(seen.truncated).toEqual([8]);
  });

  it('the attach rule recognises a request for frames only in a single attach request with an id', () => {
    const attach = { jsonrpc: '2.0', id: 1, method: 'attach', params: { framing: 'binary' } };
    const asksForFrames = (m: unknown): boolean => attachFramingSwitch.asksForFrames(m);
    expect(asksForFrames(attach)).toBe(true);
    expect(asksForFrames({ ...attach, id: undefined })).toBe(false);
    expect(asksForFrames({ ...attach, params: { framing: 'ndjson' } })).toBe(false);
    expect(asksForFrames({ ...attach, method: 'detach' })).toBe(false);
    expect(asksForFrames([attach])).toBe(false);
    expect(asksForFrames(null)).toBe(false);
    expect(NO_FRAMING_SWITCH.asksForFrames(attach)).toBe(false);
  });
});

describe('pausing line decoding', () => {
  it('holds what follows the pausing line, then resumes or hands it over', () => {
    const lines: string[] = [];
    const dec = new LineDecoder({
      onLine: (line) => {
        lines.push(line);
        if (line === 'switch') dec.pause();
      },
    });
    dec.push(Buffer.from('one\nswitch\ntwo\nthr'));
    dec.push(Buffer.from('ee\n'));
    expect(lines).toEqual(['one', 'switch']);
    dec.resume();
    expect(lines).toEqual(['one', 'switch', 'two', 'three']);

    dec.push(Buffer.from('switch\n\x00\x01raw'));
    dec.push(Buffer.from('more'));
    expect(Buffer.concat(dec.release()).toString('latin1')).toBe('\x00\x01rawmore');
    dec.push(Buffer.from('ignored\n'));
    expect(lines).toEqual(['one', 'switch', 'two', 'three', 'switch']);
  });

  it('ends only after the held bytes have been decoded', () => {
    const lines: string[] = [];
    const truncated: number[] = [];
    const dec = new LineDecoder({
      onLine: (line) => {
        lines.push(line);
        if (line === 'switch') dec.pause();
      },
      onTruncated: (bytes) => truncated.push(bytes),
    });
    dec.push(Buffer.from('switch\nlast\npart'));
    dec.end();
    expect(lines).toEqual(['switch']);
    dec.resume();
    expect(lines).toEqual(['switch', 'last']);
    expect(truncated).toEqual([4]);
  });

  it('pauses again on a later line while resuming', () => {
    const lines: string[] = [];
    const dec = new LineDecoder({
      onLine: (line) => {
        lines.push(line);
        if (line.startsWith('switch')) dec.pause();
      },
    });
    dec.push(Buffer.from('switch 1\na\n'));
    dec.push(Buffer.from('switch 2\nb\n'));
    dec.push(Buffer.from('c\n'));
    dec.resume();
    expect(lines).toEqual(['switch 1', 'a', 'switch 2']);
    dec.resume();
    expect(lines).toEqual(['switch 1', 'a', 'switch 2', 'b', 'c']);
  });
});
