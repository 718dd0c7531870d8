/** The resume time `ralph status` prints for a waiting loop reads as the user's wall clock. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clock } from '../../cli/commands/status.js';

describe('status clock', () => {
  let tz: string | undefined;
  beforeEach(() => {
    tz = process.env.TZ;
  });
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('prints only the time when it falls on today', () => {
    process.env.TZ = 'UTC';
    expect(clock('2026-12-06T23:08:00Z', new Date('2026-12-06T22:08:00Z'))).toBe('23:08');
  });

  it('prints the date too when the time falls after midnight', () => {
    process.env.TZ = 'UTC';
    expect(clock('2026-12-07T00:08:00Z', new Date('2026-12-06T23:08:00Z'))).toBe('2026-12-07 00:08');
  });

  it('prints the local date, not the UTC one, east of Greenwich', () => {
    process.env.TZ = 'Pacific/Auckland'; // UTC+13 in December
    // 12:30 UTC on the 7th is 01:30 on the 8th in Auckland, where it is still the 7th at 10:00 UTC.
    expect(clock('2026-12-07T12:30:00Z', new Date('2026-12-07T10:00:00Z'))).toBe('2026-12-08 01:30');
  });

  it('prints the local date, not the UTC one, west of Greenwich', () => {
    process.env.TZ = 'America/Los_Angeles'; // UTC-8 in December
    // 02:00 UTC on the 8th is 18:00 on the 7th in Los Angeles, where it is the 6th at 20:00 UTC.
    expect(clock('2026-12-08T02:00:00Z', new Date('2026-12-06T20:00:00Z'))).toBe('2026-12-07 18:00');
  });
});
