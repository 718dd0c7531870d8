/**
 * Per-connection bookkeeping of requests being answered: at most `maxInFlight` at once (a batch counts each
 * member), and no more reading while more than `pauseQueuedBytes` of answers wait for the client to read
 * them. Past either bound it asks its owner to stop reading, and to go on once the client has caught up, so
 * a client that pipelines without reading waits in its own socket buffer, not in this process.
 */

export const DEFAULT_MAX_IN_FLIGHT = 16;
export const DEFAULT_PAUSE_QUEUED_BYTES = 1024 * 1024;

export interface RequestGateOptions {
  maxInFlight?: number;
  pauseQueuedBytes?: number;
  /** Bytes of answers waiting to be read by the client. */
  queuedBytes: () => number;
  /** True once the connection is closed: nothing is paused or resumed any more. */
  closed: () => boolean;
  /** Stop reading from the client (called from inside a message's handling). */
  pause: () => void;
  /** Read from the client again. */
  resume: () => void;
}

export class RequestGate {
  readonly maxInFlight: number;
  private readonly pauseQueuedBytes: number;
  private readonly options: RequestGateOptions;
  private inFlight = 0;
  private paused = false;

  constructor(options: RequestGateOptions) {
    this.options = options;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.pauseQueuedBytes = options.pauseQueuedBytes ?? DEFAULT_PAUSE_QUEUED_BYTES;
  }

  /** Nothing being answered and reading not paused: an ended client can be let go. */
  get idle(): boolean {
    return this.inFlight === 0 && !this.paused;
  }

  /** Requests being answered now (a batch counts as its weight). */
  get count(): number {
    return this.inFlight;
  }

  /** What a message of `members` requests (1 for a single one) counts against the bound. */
  weight(members: number): number {
    return Math.min(this.maxInFlight, Math.max(1, members));
  }

  /** A message of this weight is now being answered. */
  begin(weight: number): void {
    this.inFlight += weight;
    this.check();
  }

  /** Its answer has been sent (or given up). */
  end(weight: number): void {
    this.inFlight -= weight;
    this.check();
  }

  /** Pauses or resumes reading as the bounds say now (call it when queued bytes went down). */
  check(): void {
    const overloaded =
      this.inFlight >= this.maxInFlight || this.options.queuedBytes() > this.pauseQueuedBytes;
    if (overloaded && !this.paused) {
      if (this.options.closed()) return;
      this.paused = true;
      this.options.pause();
    } else if (!overloaded && this.paused) {
      this.paused = false;
      if (!this.options.closed()) this.options.resume();
    }
  }
}
