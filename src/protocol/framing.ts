/**
 * NDJSON framing: one JSON value per `\n`-terminated line. This module knows bytes and lines only; it has no
 * idea what the lines mean.
 */

/** Longest line accepted by default, newline excluded. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface LineDecoderOptions {
  /** Called once per complete line, without its `\n` (or `\r\n`). */
  onLine: (line: string) => void;
  /** Called once per over-long line when it exceeds the limit; the rest of it, up to `\n`, is discarded. */
  onOversize?: (bytesSeen: number) => void;
  /** Called by `end()` when the stream stopped in the middle of a line; the partial line is discarded. */
  onTruncated?: (bytes: number) => void;
  /** Longest line accepted, newline excluded. */
  maxLineBytes?: number;
}

import { PausableDecoder } from './pausable.js';

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines. Bytes are buffered until `\n`, so a multi-byte UTF-8 character split
 * across chunks is decoded whole. Memory held never exceeds `maxLineBytes` plus one chunk.
 */
export class LineDecoder extends PausableDecoder {
  readonly maxLineBytes: number;
  private readonly options: LineDecoderOptions;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes of the current over-long line seen so far; -1 when not discarding. */
  private discarding = -1;
  private ended = false;

  constructor(options: LineDecoderOptions) {
    super();
    this.options = options;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Feeds a chunk; emits every line it completes. */
  push(chunk: Buffer): void {
    if (this.ended) return;
    if (this.paused) {
      this.held.push(chunk);
      return;
    }
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const stop = nl === -1 ? chunk.length : nl;
      // A tail without `\n` is copied so the rest of a large chunk is not kept alive with it.
      this.take(chunk, start, stop, nl === -1);
      if (nl === -1) return;
      this.finishLine();
      start = nl + 1;
      // `onLine` paused the decoder: the bytes after that line wait, undecoded.
      if (this.paused) {
        if (start < chunk.length) this.held.push(chunk.subarray(start));
        return;
      }
    }
  }

  /** Ends line decoding and returns the bytes held since `pause()`, for another decoder to read. */
  release(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.reset();
    this.ended = true;
    return held;
  }

  /** The end of the stream; a partial last line is reported through `onTruncated`. */
  protected finish(): void {
    if (this.ended) return;
    this.ended = true;
    const pending = this.discarding >= 0 ? this.discarding : this.partsBytes;
    this.reset();
    if (pending > 0) this.options.onTruncated?.(pending);
  }

  /** Bytes of an incomplete line currently held. */
  get pendingBytes(): number {
    return this.partsBytes;
  }

  private take(chunk: Buffer, start: number, stop: number, copy: boolean): void {
    const length = stop - start;
    if (length === 0) return;
    if (this.discarding >= 0) {
      this.discarding += length;
      return;
    }
    if (this.partsBytes + length > this.maxLineBytes) {
      const seen = this.partsBytes + length;
      this.reset();
      this.discarding = seen;
      this.options.onOversize?.(seen);
      return;
    }
    const part = chunk.subarray(start, stop);
    this.parts.push(copy ? Buffer.from(part) : part);
    this.partsBytes += length;
  }

  private finishLine(): void {
    if (this.discarding >= 0) {
      this.reset();
      return;
    }
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsBytes);
    this.reset();
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    // A complete line decodes on its own; malformed UTF-8 becomes U+FFFD, as a stream decoder would make it.
    this.options.onLine(bytes.toString('utf8', 0, end));
  }

  private reset(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.discarding = -1;
  }
}

/**
 * Serialises one value as an NDJSON line. `JSON.stringify` escapes `\n` and `\r` inside strings, so the only
 * raw newline is the terminator (U+2028 and U+2029 stay raw, which is valid JSON and harmless to `\n` framing).
 */
export function encodeLine(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('encodeLine: value has no JSON representation');
  return json + '\n';
}
