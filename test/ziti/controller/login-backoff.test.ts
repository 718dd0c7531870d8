/** The wait before another login after failed ones: none after the first failure, then doubling, capped. */
import { describe, expect, it } from 'vitest';
import { loginBackoffMs } from '../../../src/ziti/controller/client.js';

describe('loginBackoffMs', () => {
  it('tries again at once after one failure, then waits 1 s doubling up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(loginBackoffMs)).toEqual([
      0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });
});
