/**
 * A one-shot timer for delays of any length. Node's `setTimeout` takes at most 2^31-1 ms (about 24.8 days) and
 * fires a longer delay after 1 ms; this timer waits in chunks no longer than that, on the monotonic clock.
 * `restart()` is cheap enough to call on every chunk of output: it only moves the deadline, and the pending
 * chunk re-checks the deadline when it fires.
 */
import { monotonicMs } from './clock.js';

/** The longest delay one `setTimeout` honours. */
export const MAX_TIMEOUT_CHUNK_MS = 2 ** 31 - 1;

export class LongTimer {
  private handle: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private delayMs = 0;

  constructor(
    private readonly fire: () => void,
    private readonly chunkMs = MAX_TIMEOUT_CHUNK_MS,
  ) {}

  get pending(): boolean {
    return this.handle !== undefined;
  }

  /** Arms the timer to fire `delayMs` from now, replacing any earlier deadline. */
  start(delayMs: number): void {
    this.clear();
    this.delayMs = Math.max(0, delayMs);
    this.dueAt = monotonicMs() + this.delayMs;
    this.schedule();
  }

  /** Moves a pending deadline to `delayMs` (as last started) from now; does nothing when not pending. */
  restart(): void {
    if (this.handle !== undefined) this.dueAt = monotonicMs() + this.delayMs;
  }

  clear(): void {
    clearTimeout(this.handle);
    this.handle = undefined;
  }

  private schedule(): void {
    const left = this.dueAt - monotonicMs();
    if (left <= 0) {
      this.handle = undefined;
      this.fire();
      return;
    }
    this.handle = setTimeout(() => this.schedule(), Math.min(Math.ceil(left), this.chunkMs));
  }
}
