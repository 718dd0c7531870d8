/**
 * Reads a small text file that someone else controls (prd.json, prompt.md, progress.txt). Only a regular file
 * is read, and only up to a size limit: a FIFO would block the reader forever and `/dev/zero` would fill memory.
 * The file is opened without blocking and checked on the open descriptor, so a swap between a check and the
 * read cannot slip another kind of file in.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** The largest task file ralph reads: 16 MiB. */
export const MAX_TASK_FILE_BYTES = 16 * 1024 * 1024;

/** A file that exists but is not one ralph will read; `detail` says what it is instead. */
export class UnreadableFileError extends Error {
  readonly code = 'EUNREADABLE';
  constructor(
    readonly path: string,
    /** `a FIFO, not a regular file`, `larger than the 16 MiB limit`, ... */
    readonly detail: string,
  ) {
    super(`${path} is ${detail}`);
    this.name = 'UnreadableFileError';
  }
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * The whole text of a regular file of at most `maxBytes` bytes. Throws UnreadableFileError for any other kind
 * of file or a larger one; other errors (ENOENT, EACCES) are thrown as they come.
 */
export function readRegularFile(file: string, maxBytes = MAX_TASK_FILE_BYTES): string {
  return readRegularBytes(file, maxBytes).toString('utf8');
}

/** The bytes of a regular file of at most `maxBytes` bytes; see `readRegularFile`. */
export function readRegularBytes(file: string, maxBytes = MAX_TASK_FILE_BYTES): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new UnreadableFileError(file, `${kindOf(stats)}, not a regular file`);
    }
    const tooLarge = (): UnreadableFileError =>
      new UnreadableFileError(file, `larger than the ${sizeText(maxBytes)} limit`);
    if (stats.size > maxBytes) throw tooLarge();
    // The file may grow while it is read: read until its end, and stop once past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1 - total, Math.max(stats.size - total, 0) + 4096));
      const n = readSync(fd, buf, 0, buf.length, total);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooLarge();
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** Why a file could not be read, in words: what it is instead of a small regular file, or the system's message. */
export function readErrorText(err: unknown): string {
  if (err instanceof UnreadableFileError) return `it is ${err.detail}`;
  return err instanceof Error ? err.message : String(err);
}
