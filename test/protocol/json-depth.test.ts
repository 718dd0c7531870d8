import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/protocol/json-depth.js';

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, open at once', () => {
    expect(nestsDeeperThan('[[{"a":[1]}]]', 4)).toBe(false);
    expect(nestsDeeperThan('[[{"a":[[1]]}]]', 4)).toBe(true);
    expect(nestsDeeperThan('[[],[],[],[],[],[]]', 2)).toBe(false);
    expect(nestsDeeperThan(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).toBe(false);
    expect(nestsDeeperThan(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`)).toBe(true);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: `"${'['.repeat(200)}\\"{{{{`, b: ['x'] });
    expect(nestsDeeperThan(text, 2)).toBe(false);
    expect(nestsDeeperThan(`["\\\\",${'['.repeat(10)}${']'.repeat(10)}]`, 10)).toBe(true);
  });

  it('gives the same answer as parsing for every fuzzed depth', () => {
    const depthOf = (value: unknown): number =>
      typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
    for (let depth = 0; depth < 80; depth += 7) {
      const text = JSON.stringify({
        s: '[{"',
        n: depth === 0 ? 1 : JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`),
      });
      const real = depthOf(JSON.parse(text));
      expect(nestsDeeperThan(text, 40), `depth ${real}`).toBe(real > 40);
    }
  });
});
