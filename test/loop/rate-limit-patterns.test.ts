/** The limit messages agents print, and the reset times they name. */
import { describe, expect, it } from 'vitest';
import { backoffMs, detectRateLimit, parseResetTime } from '../../src/loop/rate-limit.js';

// A fixed local "now": 2026-03-10 14:30:00 local time.
const NOW = new Date(2026, 2, 10, 14, 30, 0);

describe('detectRateLimit', () => {
  it('recognises each agent’s limit messages', () => {
    const strong = [
      'Claude AI usage limit reached|1773158400',
      '5-hour limit reached ∙ resets 4am',
      'You’ve hit your limit · resets 3pm (UTC)',
      "You've hit your usage limit. Upgrade to Pro or try again in 4 days 3 hours.",
      'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}',
      '[API Error: {"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}]',
    ];
    for (const line of strong) expect(detectRateLimit(['working', line], false, NOW)?.message).toBe(line);
    const weak = [
      'Error: 429 rate limit exceeded, retry after 30s',
      'Quota exceeded for quota metric',
      'Too Many Requests',
    ];
    for (const line of weak) {
      expect(detectRateLimit([line], true, NOW)?.message).toBe(line);
      // Printed by an agent that succeeded, these are about the code it works on.
      expect(detectRateLimit([line], false, NOW)).toBeNull();
    }
    expect(detectRateLimit(['implemented the rate limiter', 'all tests pass'], true, NOW)).toBeNull();
  });

  it('reads the reset time', () => {
    expect(parseResetTime('Claude AI usage limit reached|1773158400', NOW)).toEqual(
      new Date(1773158400 * 1000),
    );
    expect(parseResetTime('5-hour limit reached ∙ resets 4am', NOW)).toEqual(new Date(2026, 2, 11, 4, 0, 0));
    expect(parseResetTime('limit reached, resets 4:10pm', NOW)).toEqual(new Date(2026, 2, 10, 16, 10, 0));
    expect(parseResetTime("You've hit your usage limit. Try again at 3:51 PM.", NOW)).toEqual(
      new Date(2026, 2, 10, 15, 51, 0),
    );
    expect(parseResetTime('try again in 4 days 3 hours.', NOW)).toEqual(
      new Date(NOW.getTime() + (4 * 24 + 3) * 3_600_000),
    );
    expect(parseResetTime('rate limit exceeded, retry after 30s', NOW)).toEqual(
      new Date(NOW.getTime() + 30_000),
    );
    expect(parseResetTime('Please retry in 12.5s.', NOW)).toEqual(new Date(NOW.getTime() + 12_500));
    expect(parseResetTime('Quota exceeded', NOW)).toBeUndefined();
  });

  it('backs off exponentially, capped, when no time is given', () => {
    expect([1, 2, 3, 6, 10].map((n) => backoffMs(n))).toEqual([
      60_000, 120_000, 240_000, 1_800_000, 1_800_000,
    ]);
  });
});
