/**
 * The hold rule of one edge connection (see docs/ziti.md, "Flow control"). A connection whose reader is
 * reading, only slower than its sender, pauses its channel's reading (a hold) once it has more than
 * `bytes` unread, and releases it when the backlog drains below half of that, so TCP backpressure reaches
 * the router. A reader that took nothing for `activityMs` counts as stopped: it never holds (its backlog runs
 * into the receive bound instead), and a hold it has is released. No hold lasts longer than `maxMs`; after
 * one that did, the connection holds again only once its backlog has drained below half of `bytes`. So one
 * connection stalls its siblings for at most `maxMs` at a time.
 */
import type { ReceiveHoldPolicy } from '../channel/receive-options.js';

/** What a hold needs from the channel. */
export interface ReadingHolder {
  holdReading(holder: object): void;
  releaseReading(holder: object): void;
}

export class ReceiveHold {
  /** Holds taken so far. */
  holds = 0;
  /** Milliseconds held in all (finished holds). */
  heldMs = 0;
  private delivered = 0;
  private consumed = 0;
  private lastProgressAt = Number.NEGATIVE_INFINITY;
  private holdingSince: number | undefined;
  /** Set by a hold that reached maxMs: no new hold until the backlog drains below half the threshold. */
  private barred = false;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly channel: ReadingHolder,
    private readonly policy: ReceiveHoldPolicy,
    /** Bytes received and not yet taken by the reader. */
    private readonly backlog: () => number,
  ) {}

  get holding(): boolean {
    return this.holdingSince !== undefined;
  }

  /** `bytes` were handed to the reader's buffer (call after pushing them). */
  received(bytes: number): void {
    this.delivered += bytes;
    this.update();
  }

  /** Re-evaluates after the reader may have taken bytes (call from read()). */
  update(): void {
    if (this.ended) return;
    const now = Date.now();
    const backlog = this.backlog();
    const consumed = this.delivered - backlog;
    if (consumed > this.consumed) {
      this.consumed = consumed;
      this.lastProgressAt = now;
    }
    if (backlog < this.policy.bytes / 2) {
      this.barred = false;
      this.release(now);
    } else if (
      !this.holding &&
      !this.barred &&
      this.policy.maxMs > 0 &&
      backlog > this.policy.bytes &&
      now - this.lastProgressAt < this.policy.activityMs
    ) {
      this.holdingSince = now;
      this.holds++;
      this.channel.holdReading(this);
      this.schedule(now);
    }
  }

  /** No more data can arrive for this connection (FIN, close, destroy): never hold again. */
  end(): void {
    this.release(Date.now());
    this.ended = true;
  }

  private schedule(now: number): void {
    if (this.holdingSince === undefined) return;
    const due = Math.min(this.lastProgressAt + this.policy.activityMs, this.holdingSince + this.policy.maxMs);
    this.timer = setTimeout(() => this.check(), Math.max(1, due - now));
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    this.update();
    if (this.holdingSince === undefined) return;
    const now = Date.now();
    if (now - this.lastProgressAt >= this.policy.activityMs) {
      // Stopped: the reader took nothing for a whole window. It holds again only once it takes bytes.
      this.release(now);
    } else if (now - this.holdingSince >= this.policy.maxMs) {
      this.barred = true;
      this.release(now);
    } else {
      this.schedule(now);
    }
  }

  private release(now: number): void {
    if (this.holdingSince === undefined) return;
    this.heldMs += now - this.holdingSince;
    this.holdingSince = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.channel.releaseReading(this);
  }
}
