/**
 * A writer that never blocks its caller and never buffers without bound. Lines (or frames) go straight to the stream
 * while it accepts them; once `write` returns false they wait here until 'drain'. When the bytes waiting
 * (here and in the stream's own buffer) pass the limit, `onOverflow` is called once and nothing more is sent.
 */
import type { Writable } from 'node:stream';

export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export class BoundedWriter {
  private readonly stream: Writable;
  private readonly maxQueuedBytes: number;
  private readonly onOverflow: (queuedBytes: number) => void;
  private queue: (string | Buffer)[] = [];
  private head = 0;
  private queueBytes = 0;
  private blocked = false;
  private ending = false;
  private stopped = false;

  private readonly onDrained: () => void;

  constructor(
    stream: Writable,
    maxQueuedBytes: number,
    onOverflow: (queuedBytes: number) => void,
    onDrained: () => void = () => undefined,
  ) {
    this.onDrained = onDrained;
    this.stream = stream;
    this.maxQueuedBytes = maxQueuedBytes;
    this.onOverflow = onOverflow;
  }

  /** Bytes accepted but not yet handed to the operating system. */
  get queuedBytes(): number {
    return this.queueBytes + this.stream.writableLength;
  }

  /** Queues a line or a frame; false when the writer no longer sends (ended, overflowed or stream gone). */
  write(line: string | Buffer): boolean {
    if (this.stopped || this.ending || !this.stream.writable) return false;
    if (this.blocked) {
      this.queue.push(line);
      this.queueBytes += byteLength(line);
    } else if (!this.stream.write(line)) {
      this.block();
    }
    return this.checkLimit();
  }

  /** Ends the stream once everything queued has been handed over. */
  end(): void {
    if (this.stopped || this.ending) return;
    this.ending = true;
    if (!this.blocked) this.stream.end();
  }

  /** Drops everything queued and sends nothing more. */
  stop(): void {
    this.stopped = true;
    this.queue = [];
    this.head = 0;
    this.queueBytes = 0;
    this.stream.off('drain', this.flush);
  }

  private checkLimit(): boolean {
    const queued = this.queuedBytes;
    if (queued <= this.maxQueuedBytes) return true;
    this.stop();
    this.onOverflow(queued);
    return false;
  }

  private block(): void {
    this.blocked = true;
    this.stream.once('drain', this.flush);
  }

  private readonly flush = (): void => {
    this.blocked = false;
    while (this.head < this.queue.length && !this.stopped) {
      const line = this.queue[this.head]!;
      this.head += 1;
      this.queueBytes -= byteLength(line);
      if (!this.stream.write(line)) {
        this.compact();
        this.block();
        return;
      }
    }
    this.queue = [];
    this.head = 0;
    if (this.ending && !this.stopped) this.stream.end();
    else if (!this.stopped) this.onDrained();
  };

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

function byteLength(data: string | Buffer): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}
