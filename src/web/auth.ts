/**
 * Who may use `ralph web`: whoever opens the URL it printed. The URL carries a one-time token; the first
 * request that shows it gets a session cookie and the token is dead from then on (a second use is refused).
 * Wrong or replayed tokens are counted: after `MAX_FAILED_TOKENS` of them within `FAILURE_WINDOW_MS`, every
 * token is refused (429) until the oldest failure leaves the window. Secrets are compared as SHA-256 digests
 * with a constant-time comparison, and only digests are kept.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const MAX_FAILED_TOKENS = 20;
export const FAILURE_WINDOW_MS = 10 * 60_000;

export type TokenOutcome =
  | { kind: 'accepted'; session: string }
  | { kind: 'used' }
  | { kind: 'wrong' }
  | { kind: 'limited'; retryAfterS: number };

/** 32 random bytes, base64url: safe in a URL and a cookie. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export class WebAuth {
  /** The one-time token, for the URL that is printed. */
  readonly token: string;
  private readonly tokenDigest: Buffer;
  private tokenUsed = false;
  private readonly sessions: Buffer[] = [];
  private failures: number[] = [];

  constructor(private readonly now: () => number = Date.now) {
    this.token = randomSecret();
    this.tokenDigest = digest(this.token);
  }

  /** Trades the token for a session: once. */
  exchange(candidate: string): TokenOutcome {
    const at = this.now();
    this.failures = this.failures.filter((t) => at - t < FAILURE_WINDOW_MS);
    const oldest = this.failures[0];
    if (oldest !== undefined && this.failures.length >= MAX_FAILED_TOKENS) {
      return {
        kind: 'limited',
        retryAfterS: Math.max(1, Math.ceil((oldest + FAILURE_WINDOW_MS - at) / 1000)),
      };
    }
    if (!timingSafeEqual(digest(candidate), this.tokenDigest)) {
      this.failures.push(at);
      return { kind: 'wrong' };
    }
    if (this.tokenUsed) {
      this.failures.push(at);
      return { kind: 'used' };
    }
    this.tokenUsed = true;
    const session = randomSecret();
    this.sessions.push(digest(session));
    return { kind: 'accepted', session };
  }

  /** Whether `value` (a cookie's value) is a session this server gave out. */
  isSession(value: string | undefined): boolean {
    if (value === undefined || value === '') return false;
    const d = digest(value);
    let found = false;
    for (const s of this.sessions) found = timingSafeEqual(d, s) || found;
    return found;
  }
}
