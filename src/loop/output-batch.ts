/**
 * Gathers an agent's output while it streams, so a burst costs one log write, one frame and one socket write
 * per few dozen kilobytes instead of per PTY read (about 4 KB each on Linux, one per turn of the event loop).
 * Only a large read that follows other output within BURST_GAP_MS is held (a full read means the agent had
 * more to give), for at most HOLD_MS or until HOLD_BYTES have gathered. A small read goes on at once, with
 * whatever is held before it: keystroke echoes typed back to back, a prompt, a progress line never wait.
 * Nothing is dropped or reordered; `flush()` hands on whatever is held.
 */
import { monotonicMs } from '../util/clock.js';

/** Output that follows the previous chunk this soon is part of a burst. */
export const BURST_GAP_MS = 1;
/** Reads smaller than this are never held. */
export const MIN_HELD_CHUNK = 1024;
/** How long a chunk of a burst may wait for the ones after it. */
export const HOLD_MS = 2;
/** A burst that has gathered this much goes on without waiting for the timer. */
export const HOLD_BYTES = 64 * 1024;

export class OutputBatch {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly emit: (chunk: Buffer) => void,
    private readonly now: () => number = monotonicMs,
  ) {}

  push(chunk: Buffer): void {
    const at = this.now();
    const inBurst = at - this.lastAt < BURST_GAP_MS;
    this.lastAt = at;
    const hold = inBurst && chunk.length >= MIN_HELD_CHUNK;
    if (!hold && this.held.length === 0) return this.emit(chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (!hold || this.heldBytes >= HOLD_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), HOLD_MS);
  }

  /** Hands on everything held, as one chunk. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held.length === 0) return;
    const chunk = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.emit(chunk);
  }
}
