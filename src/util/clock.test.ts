import { describe, expect, it } from 'vitest';
import { isoTime } from './clock.js';

describe('isoTime', () => {
  it('writes what toISOString writes, for dates and for milliseconds', () => {
    const fixed = [
      0,
      Date.UTC(2026, 11, 7, 23, 5, 1, 123),
      Date.UTC(2024, 1, 29, 0, 0, 0, 0),
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(1900, 0, 1),
      -62_167_219_200_000, // 0000-01-01T00:00:00.000Z
      -1,
    ];
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const samples = [...fixed, ...Array.from({ length: 5000 }, () => Math.floor((random() - 0.3) * 2 ** 46))];
    for (const ms of samples) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      expect(isoTime(new Date(ms))).toBe(new Date(ms).toISOString());
    }
  });

  it('leaves years outside 0-9999 to toISOString, and refuses an invalid date as it does', () => {
    for (const ms of [-62_167_219_200_001, Date.UTC(10000, 0, 1), 8.64e15, -8.64e15]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });

  it('defaults to now', () => {
    const before = Date.now();
    const stamp = Date.parse(isoTime());
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  });
});
