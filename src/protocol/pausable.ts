/**
 * What a byte decoder needs to stop between two messages and go on later: the rest of the chunk it stopped
 * in, and chunks that arrive while it is paused, wait here undecoded and in order. What a message is (a line,
 * a frame) is the subclass's business.
 */
export abstract class PausableDecoder {
  protected paused = false;
  /** Chunks (and the rest of a chunk) received while paused, in order. */
  protected held: Buffer[] = [];
  /** `end()` came while paused: it takes effect once the held bytes have been decoded. */
  private endWhenResumed = false;

  /** Feeds a chunk; emits every message it completes. */
  abstract push(chunk: Buffer): void;

  /** The end of the stream, once nothing is held. */
  protected abstract finish(): void;

  /**
   * Stops decoding after the current message (call it from the message callback): what follows is held,
   * undecoded, until `resume()`.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      this.push(held[i]!);
      if (this.paused) {
        // Paused again by a message inside: the rest stays held behind what `push` kept.
        this.held.push(...held.slice(i + 1));
        return;
      }
    }
    if (this.endWhenResumed) this.end();
  }

  /** Marks the end of the stream (deferred while paused). */
  end(): void {
    if (this.paused) {
      this.endWhenResumed = true;
      return;
    }
    this.finish();
  }
}
