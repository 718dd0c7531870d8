import { describe, expect, it } from 'vitest';
import { changeDigest } from './digest.js';

describe('changeDigest', () => {
  it('is the same for the same bytes, given as bytes or as the string they encode', () => {
    const text = 'story US-001 passed \u2014 \u00fcn\u00efc\u00f6d\u00e9\n';
    expect(changeDigest(text)).toBe(changeDigest(new TextEncoder().encode(text)));
    expect(changeDigest(Buffer.from(text))).toBe(changeDigest(text));
    expect(changeDigest('')).toMatch(/^[0-9a-f]{16}:0$/);
  });

  it('changes when any one byte of a file changes, or when bytes are added or dropped', () => {
    const base = Buffer.from('{"userStories":[{"id":"US-001","passes":false}]}\n'.repeat(50));
    const seen = new Set([changeDigest(base)]);
    let variants = 1;
    for (let i = 0; i < base.length; i += 7) {
      const changed = Buffer.from(base);
      changed[i] = changed[i]! ^ 1;
      seen.add(changeDigest(changed));
      variants++;
    }
    seen.add(changeDigest(Buffer.concat([base, Buffer.from(' ')])));
    seen.add(changeDigest(base.subarray(1)));
    variants += 2;
    // Every variant got a digest of its own.
    expect(seen.size).toBe(variants);
  });

  it('tells apart bytes in another order, and runs of zero bytes of other lengths', () => {
    expect(changeDigest('ab')).not.toBe(changeDigest('ba'));
    expect(changeDigest('\0\0')).not.toBe(changeDigest('\0'));
  });
});
