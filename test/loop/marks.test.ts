/** ralph's own lines in the terminal stream, and taking their colour out however the stream is cut. */
import { describe, expect, it } from 'vitest';
import { bannerBytes, bannerLength, noteBytes, Uncolored } from '../../src/loop/marks.js';

const agent = Buffer.from('\x1b[31mred by the agent\x1b[0m ünïcödé ✓\r\n\x1b');
const stream = Buffer.concat([
  bannerBytes('iteration 1/3 · US-001'),
  agent,
  Buffer.from('[2mthe agent dims this\x1b[0m\r\n'),
  noteBytes('iteration 1 ended: exit code 0'),
  bannerBytes('iteration 2/3'),
]);
const expected =
  '\r\n── ralph: iteration 1/3 · US-001 ──\r\n' +
  '\x1b[31mred by the agent\x1b[0m ünïcödé ✓\r\n\x1b[2mthe agent dims this\x1b[0m\r\n' +
  '\r\n[ralph] iteration 1 ended: exit code 0\r\n' +
  '\r\n── ralph: iteration 2/3 ──\r\n';

describe("ralph's banners and notes", () => {
  it('lose their colour and nothing else, wherever the stream is cut', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const plain = new Uncolored();
      const out = Buffer.concat([
        plain.push(stream.subarray(0, cut)),
        plain.push(stream.subarray(cut)),
        plain.flush(),
      ]);
      expect(out.toString('utf8'), `cut at ${cut}`).toBe(expected);
    }
    const bytewise = new Uncolored();
    const parts: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) parts.push(bytewise.push(stream.subarray(i, i + 1)));
    parts.push(bytewise.flush());
    expect(Buffer.concat(parts).toString('utf8')).toBe(expected);
  });

  it('measures the banner at the start of an iteration', () => {
    const banner = bannerBytes('iteration 2/3 · US-002');
    expect(bannerLength(Buffer.concat([banner, agent]))).toBe(banner.length);
    expect(bannerLength(agent)).toBe(0);
    expect(bannerLength(banner.subarray(0, 10))).toBe(0);
  });
});
