/**
 * The append-only record of a loop's raw PTY bytes. Every byte the agent writes is appended here before it is
 * sent to any client, so a byte offset names the same byte forever: a client that reattaches from offset N gets
 * exactly the bytes it missed.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { RalphError } from '../errors.js';
import { writeError } from './disk-full.js';

export class OutputLog {
  readonly file: string;
  private readonly fd: number;
  private size: number;

  private constructor(file: string, fd: number, size: number) {
    this.file = file;
    this.fd = fd;
    this.size = size;
  }

  /** Opens (creating if needed) a log for appending; an existing log keeps its bytes and offsets. */
  static open(file: string): OutputLog {
    const fd = openSync(file, 'a+', 0o600);
    return new OutputLog(file, fd, fstatSync(fd).size);
  }

  /** Creates a new, empty log; throws EEXIST when the file exists (it belongs to another session). */
  static create(file: string): OutputLog {
    return new OutputLog(file, openSync(file, 'ax+', 0o600), 0);
  }

  /** The offset one past the last byte written. */
  get end(): number {
    return this.size;
  }

  /**
   * Appends bytes and returns the offset of the first one. A write that fails part-way (a full disk) is cut
   * back, so the log holds whole chunks only and its size stays the offset of the next byte; a full disk
   * throws DISK_FULL naming the file.
   */
  append(data: Buffer): number {
    const offset = this.size;
    let written = 0;
    try {
      while (written < data.length) {
        written += writeSync(this.fd, data, written, data.length - written);
      }
    } catch (err) {
      if (written > 0) {
        try {
          ftruncateSync(this.fd, offset);
        } catch {
          // Cutting back cannot fail for want of space; should it fail anyway, the size below still holds.
        }
      }
      throw writeError(err, this.file);
    }
    this.size += data.length;
    return offset;
  }

  /** Reads up to `limit` bytes starting at `offset`. */
  read(offset: number, limit: number): Buffer {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.size) {
      throw new RalphError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside the log (0..${this.size})`);
    }
    const length = Math.max(0, Math.min(limit, this.size - offset));
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Cuts a buffer back to the last complete UTF-8 character so text handed out by offset never splits a
 * multi-byte sequence. Returns the number of bytes to keep.
 */
export function utf8SafeLength(buf: Buffer): number {
  const n = buf.length;
  // Look back at most 3 bytes for the start of a sequence that runs past the end.
  for (let back = 1; back <= Math.min(4, n); back++) {
    const byte = buf[n - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte
    return utf8SequenceLength(byte) > back ? n - back : n;
  }
  return n;
}

/** Bytes of the UTF-8 sequence a lead byte starts (1 for ASCII and for bytes that start none). */
export function utf8SequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}
