/**
 * Binary framing, the alternative to NDJSON that a connection switches to after a successful
 * `attach {"framing": "binary"}`. Each frame is a 5-byte header, the payload type (1 byte) and the payload
 * length (4 bytes, big-endian), then the payload. Terminal frames carry raw terminal bytes (output to the
 * client, keystrokes to the loop); message frames carry one JSON-RPC message as UTF-8 JSON text. Like
 * framing.ts, this module knows bytes and frames only.
 */

import { PausableDecoder } from './pausable.js';

export const FRAME_HEADER_BYTES = 5;
/** Raw terminal bytes: output from the loop, keystrokes from the client. */
export const FRAME_TERMINAL = 0;
/** One JSON-RPC message (request, response, notification or batch) as UTF-8 JSON text. */
export const FRAME_MESSAGE = 1;

export type Framing = 'ndjson' | 'binary';

/** A header plus payload in one buffer (one write, one syscall). */
export function encodeFrame(type: number, payload: Buffer | string): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame[0] = type;
  frame.writeUInt32BE(length, 1);
  if (typeof payload === 'string') frame.write(payload, FRAME_HEADER_BYTES, 'utf8');
  else payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** A JSON-RPC message line (with or without its `\n`) as a message frame. */
export function messageFrame(line: string): Buffer {
  return encodeFrame(FRAME_MESSAGE, line.endsWith('\n') ? line.slice(0, -1) : line);
}

export interface FrameDecoderOptions {
  /** Called once per complete frame. The payload may be a view into the received chunk. */
  onFrame: (type: number, payload: Buffer) => void;
  /** Called once per frame longer than the limit; its payload is skipped and decoding goes on after it. */
  onOversize?: (type: number, bytes: number) => void;
  /** Called by `end()` when the stream stopped in the middle of a frame. */
  onTruncated?: (bytes: number) => void;
  /** Longest payload accepted. */
  maxFrameBytes: number;
}

/** Splits a byte stream into frames. Memory held never exceeds one frame of at most `maxFrameBytes`. */
export class FrameDecoder extends PausableDecoder {
  private readonly options: FrameDecoderOptions;
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerBytes = 0;
  private type = 0;
  private length = 0;
  /** Payload bytes still to come for the current frame; -1 while reading a header. */
  private remaining = -1;
  private parts: Buffer[] = [];
  /** True while the current (over-long) frame's payload is being skipped. */
  private skipping = false;
  private ended = false;

  constructor(options: FrameDecoderOptions) {
    super();
    this.options = options;
  }

  push(chunk: Buffer): void {
    if (this.ended) return;
    if (this.paused) {
      this.held.push(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.paused) {
        this.held.push(chunk.subarray(at));
        return;
      }
      if (this.remaining < 0) {
        // The common case, a whole frame inside the chunk, needs no copy.
        if (this.headerBytes === 0 && chunk.length - at >= FRAME_HEADER_BYTES) {
          const type = chunk[at]!;
          const length = chunk.readUInt32BE(at + 1);
          at += FRAME_HEADER_BYTES;
          if (length <= this.options.maxFrameBytes && chunk.length - at >= length) {
            const payload = chunk.subarray(at, at + length);
            at += length;
            this.options.onFrame(type, payload);
            if (this.ended) return;
            continue;
          }
          this.begin(type, length);
          continue;
        }
        const take = Math.min(FRAME_HEADER_BYTES - this.headerBytes, chunk.length - at);
        chunk.copy(this.header, this.headerBytes, at, at + take);
        this.headerBytes += take;
        at += take;
        if (this.headerBytes < FRAME_HEADER_BYTES) return;
        this.headerBytes = 0;
        this.begin(this.header[0]!, this.header.readUInt32BE(1));
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      if (!this.skipping) this.parts.push(Buffer.from(chunk.subarray(at, at + take)));
      this.remaining -= take;
      at += take;
      if (this.remaining === 0) this.complete();
    }
  }

  /** The end of the stream; a partial last frame is reported through `onTruncated`. */
  protected finish(): void {
    if (this.ended) return;
    this.ended = true;
    const pending = this.remaining < 0 ? this.headerBytes : FRAME_HEADER_BYTES + this.length - this.remaining;
    this.parts = [];
    if (pending > 0) this.options.onTruncated?.(pending);
  }

  private begin(type: number, length: number): void {
    this.type = type;
    this.length = length;
    this.remaining = length;
    this.skipping = length > this.options.maxFrameBytes;
    if (this.skipping) this.options.onOversize?.(type, length);
    if (length === 0) this.complete();
  }

  private complete(): void {
    const parts = this.parts;
    this.parts = [];
    this.remaining = -1;
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    this.options.onFrame(this.type, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}

/**
 * True when a parsed message asks to switch its connection to binary frames: a single `attach` request (with
 * an id) whose params say `"framing": "binary"`. The switch happens only if the request succeeds.
 */
export function asksForFrames(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const msg = value as { method?: unknown; id?: unknown; params?: unknown };
  if (msg.method !== 'attach' || msg.id === undefined || msg.id === null) return false;
  const params = msg.params as { framing?: unknown } | null | undefined;
  return typeof params === 'object' && params !== null && params.framing === 'binary';
}
