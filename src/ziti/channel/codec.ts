/**
 * Channel frame codec: turns messages into frames and reassembles frames from arbitrary chunks of a
 * byte stream (a frame may arrive split over many reads, or many frames in one read).
 */
import { ChannelProtocolError } from './errors.js';
import type { Headers, Message } from './message.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_MAGIC,
  FRAME_PREFIX_LENGTH,
  UNKNOWN_VERSION_MAGIC,
} from './protocol.js';

export function encodeFrame(msg: Message): Buffer {
  let headersLength = 0;
  for (const value of msg.headers.values()) headersLength += 8 + value.length;
  const out = Buffer.allocUnsafe(FRAME_PREFIX_LENGTH + headersLength + msg.body.length);
  FRAME_MAGIC.copy(out, 0);
  out.writeInt32LE(msg.contentType | 0, 4);
  out.writeInt32LE(msg.sequence | 0, 8);
  out.writeInt32LE(headersLength, 12);
  out.writeInt32LE(msg.body.length, 16);
  let offset = FRAME_PREFIX_LENGTH;
  for (const [key, value] of msg.headers) {
    out.writeInt32LE(key | 0, offset);
    out.writeInt32LE(value.length, offset + 4);
    value.copy(out, offset + 8);
    offset += 8 + value.length;
  }
  msg.body.copy(out, offset);
  return out;
}

export function decodeHeaders(data: Buffer): Headers {
  const headers: Headers = new Map();
  let offset = 0;
  while (offset < data.length) {
    if (offset + 8 > data.length) throw new ChannelProtocolError(`truncated header at offset ${offset}`);
    const key = data.readInt32LE(offset);
    const length = data.readUInt32LE(offset + 4);
    if (offset + 8 + length > data.length) {
      throw new ChannelProtocolError(
        `header ${key} claims ${length} bytes, only ${data.length - offset - 8} left`,
      );
    }
    headers.set(key, Buffer.from(data.subarray(offset + 8, offset + 8 + length)));
    offset += 8 + length;
  }
  return headers;
}

/** Decodes one complete frame held in `frame` (exactly one frame, nothing more). */
export function decodeFrame(frame: Buffer): Message {
  const headersLength = frame.readUInt32LE(12);
  const bodyLength = frame.readUInt32LE(16);
  if (frame.length !== FRAME_PREFIX_LENGTH + headersLength + bodyLength) {
    throw new ChannelProtocolError(`frame length ${frame.length} does not match its prefix`);
  }
  const headerEnd = FRAME_PREFIX_LENGTH + headersLength;
  return {
    contentType: frame.readInt32LE(4),
    sequence: frame.readInt32LE(8),
    headers: decodeHeaders(frame.subarray(FRAME_PREFIX_LENGTH, headerEnd)),
    body: frame.subarray(headerEnd),
  };
}

/** Collects stream chunks and yields whole messages. Throws ChannelProtocolError on garbage. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxFrameBytes: number;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Message[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Message[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const magic = this.peek(4);
      if (!magic.equals(FRAME_MAGIC)) {
        if (magic.equals(UNKNOWN_VERSION_MAGIC)) {
          throw new ChannelProtocolError('the router does not speak channel protocol version 2');
        }
        throw new ChannelProtocolError(`bad frame magic ${magic.toString('hex')}`);
      }
      if (this.buffered < FRAME_PREFIX_LENGTH) break;
      const prefix = this.peek(FRAME_PREFIX_LENGTH);
      const headersLength = prefix.readUInt32LE(12);
      const bodyLength = prefix.readUInt32LE(16);
      if (headersLength + bodyLength > this.maxFrameBytes) {
        throw new ChannelProtocolError(
          `frame of ${headersLength + bodyLength} bytes exceeds the limit of ${this.maxFrameBytes} bytes`,
        );
      }
      const total = FRAME_PREFIX_LENGTH + headersLength + bodyLength;
      if (this.buffered < total) break;
      out.push(decodeFrame(this.take(total)));
    }
    return out;
  }

  /** The first n buffered bytes without consuming them (n <= buffered). */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    let count = 0;
    let length = 0;
    while (length < n) length += (this.chunks[count++] as Buffer).length;
    const merged = Buffer.concat(this.chunks.slice(0, count));
    this.chunks.splice(0, count, merged);
    return merged.subarray(0, n);
  }

  /** Removes and returns the first n buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const need = n - filled;
      if (chunk.length <= need) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, need);
        this.chunks[0] = chunk.subarray(need);
        filled += need;
      }
    }
    return out;
  }
}
