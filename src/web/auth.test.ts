import { describe, expect, it } from 'vitest';
import { FAILURE_WINDOW_MS, MAX_FAILED_TOKENS, WebAuth } from './auth.js';

describe('WebAuth', () => {
  it('trades the token once; the session it gives is recognised, nothing else is', () => {
    const auth = new WebAuth();
    const first = auth.exchange(auth.token);
    if (first.kind !== 'accepted') throw new Error(`got ${first.kind}`);
    expect(auth.isSession(first.session)).toBe(true);
    expect(auth.isSession(auth.token)).toBe(false);
    expect(auth.isSession(undefined)).toBe(false);
    expect(auth.isSession('')).toBe(false);
    expect(auth.exchange(auth.token)).toEqual({ kind: 'used' });
  });

  it('refuses every token once the failures in the window reach the limit, and lets them in when they age out', () => {
    let now = 1_000_000;
    const auth = new WebAuth(() => now);
    for (let i = 0; i < MAX_FAILED_TOKENS; i += 1) {
      expect(auth.exchange(`wrong-${i}`).kind).toBe('wrong');
      now += 1000;
    }
    const limited = auth.exchange(auth.token);
    expect(limited.kind).toBe('limited');
    if (limited.kind === 'limited') expect(limited.retryAfterS).toBe((FAILURE_WINDOW_MS - 20_000) / 1000);
    // The first failure leaves the window: one more try is allowed, and this one is right.
    now = 1_000_000 + FAILURE_WINDOW_MS;
    expect(auth.exchange(auth.token).kind).toBe('accepted');
  });

  it('counts a replayed token as a failure', () => {
    const auth = new WebAuth(() => 0);
    expect(auth.exchange(auth.token).kind).toBe('accepted');
    for (let i = 0; i < MAX_FAILED_TOKENS; i += 1) expect(auth.exchange(auth.token).kind).toBe('used');
    expect(auth.exchange(auth.token).kind).toBe('limited');
  });
});
