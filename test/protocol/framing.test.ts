import { describe, expect, it } from 'vitest';
import { LineDecoder, encodeLine } from '../../src/protocol/framing.js';

function collect(maxLineBytes?: number) {
  const lines: string[] = [];
  const oversize: number[] = [];
  const truncated: number[] = [];
  const decoder = new LineDecoder({
    maxLineBytes,
    onLine: (l) => lines.push(l),
    onOversize: (n) => oversize.push(n),
    onTruncated: (n) => truncated.push(n),
  });
  return { decoder, lines, oversize, truncated };
}

describe('LineDecoder', () => {
  it('joins a line split across chunks and splits several lines in one chunk', () => {
    const { decoder, lines } = collect();
    decoder.push(Buffer.from('{"a":'));
    decoder.push(Buffer.from('1}\n{"b":2}\n{"c"'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    decoder.push(Buffer.from(':3}\n'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('decodes a multi-byte UTF-8 character split across chunks, byte by byte', () => {
    const { decoder, lines } = collect();
    const bytes = Buffer.from('héllo 🎉 ünïcode\n', 'utf8');
    for (let i = 0; i < bytes.length; i++) decoder.push(bytes.subarray(i, i + 1));
    expect(lines).toEqual(['héllo 🎉 ünïcode']);
  });

  it('strips \\r before \\n and keeps empty lines', () => {
    const { decoder, lines } = collect();
    decoder.push(Buffer.from('one\r\ntwo\r'));
    decoder.push(Buffer.from('\n\nthree\n'));
    expect(lines).toEqual(['one', 'two', '', 'three']);
  });

  it('reports an over-long line once, discards it and decodes the next line', () => {
    const { decoder, lines, oversize } = collect(16);
    decoder.push(Buffer.from('short\n' + 'x'.repeat(10)));
    decoder.push(Buffer.from('x'.repeat(10)));
    decoder.push(Buffer.from('x'.repeat(50)));
    decoder.push(Buffer.from('yyy\nafter\n'));
    expect(lines).toEqual(['short', 'after']);
    expect(oversize).toEqual([20]);
  });

  it('accepts a line of exactly the limit and refuses one byte more', () => {
    const { decoder, lines, oversize } = collect(8);
    decoder.push(Buffer.from('12345678\n123456789\nok\n'));
    expect(lines).toEqual(['12345678', 'ok']);
    expect(oversize).toEqual([9]);
  });

  it('reports a truncated last line at end of stream and nothing for a clean end', () => {
    const clean = collect();
    clean.decoder.push(Buffer.from('a\n'));
    clean.decoder.end();
    expect(clean.truncated).toEqual([]);

    const cut = collect();
    cut.decoder.push(Buffer.from('a\n{"jsonrpc":"2.0","me'));
    cut.decoder.end();
    expect(cut.lines).toEqual(['a']);
    expect(cut.truncated).toEqual([20]);
    cut.decoder.push(Buffer.from('thod":"x"}\n'));
    expect(cut.lines).toEqual(['a']);
  });

  it('round-trips values whose strings hold newlines and line separators', () => {
    const { decoder, lines } = collect();
    const value = { text: 'a\nb\r\nc\u2028d\u2029e', n: 1 };
    const line = encodeLine(value);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    decoder.push(Buffer.from(line));
    expect(JSON.parse(lines[0]!)).toEqual(value);
  });

  it('refuses to encode a value with no JSON form', () => {
    expect(() => encodeLine(undefined)).toThrow(/no JSON representation/);
  });
});
