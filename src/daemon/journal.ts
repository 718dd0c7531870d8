/**
 * The daemon's event journal: what happened to its loops, one NDJSON line per entry, each with a sequence
 * number that only grows, across daemon restarts too (the next number is the last one in the file plus one).
 * A client that slept asks for everything after the last `seq` it saw.
 *
 * Appends are synchronous and whole lines. A last line the daemon did not finish writing (it was killed, the
 * disk filled) is ignored and cut off on open. The file stays bounded: past `maxEntries` it is rewritten with
 * the newest `keepEntries` (write to a temporary file, then rename), and `since` tells a client that asks for
 * more than is kept (`truncated`). Every kept entry is also held in memory, so `since` never reads the disk.
 */
import { EventEmitter } from 'node:events';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { RalphPaths } from '../config/paths.js';

/** Where the journal goes when the daemon's config does not say: `<dataDir>/daemon/journal.ndjson`. */
export function defaultJournalFile(paths: Pick<RalphPaths, 'dataDir'>): string {
  return join(paths.dataDir, 'daemon', 'journal.ndjson');
}

export const JOURNAL_EVENT_TYPES = [
  'loop_started',
  'loop_completed',
  'loop_failed',
  'state_change',
  'loop_lost',
] as const;
export type JournalEventType = (typeof JOURNAL_EVENT_TYPES)[number];

export interface JournalEntry {
  seq: number;
  /** ISO 8601, UTC. */
  time: string;
  type: JournalEventType;
  task: string | null;
  data: unknown;
}

/** What `since` answers: the entries after a seq, and whether some of them are no longer kept. */
export type JournalSince = JournalEntry[] & {
  /**
   * True when the journal cannot give everything after the seq asked for: rotation dropped entries after it,
   * or the seq is ahead of the journal (the file was started anew since the client saw it).
   */
  truncated: boolean;
};

export interface JournalOptions {
  /** Rewrite the file once it holds more entries than this (default 20 000). */
  maxEntries?: number;
  /** How many of the newest entries a rewrite keeps (default 10 000). */
  keepEntries?: number;
  now?: () => Date;
}

interface JournalEvents {
  entry: [JournalEntry];
  /** An entry could not be written to the file (it is still kept in memory and sent to listeners). */
  write_failed: [error: Error, entry: JournalEntry];
}

export const DEFAULT_MAX_ENTRIES = 20_000;
export const DEFAULT_KEEP_ENTRIES = 10_000;

export class Journal extends EventEmitter<JournalEvents> {
  readonly file: string;
  /** Lines of the file that were not valid entries when it was opened (skipped, left in place). */
  readonly damagedLines: number;
  /** Bytes of an unfinished last line cut off when the file was opened. */
  readonly tornBytes: number;
  private entries: JournalEntry[];
  private fd: number;
  private seq: number;
  /** A write failed part-way: start the next line on a line of its own. */
  private needsNewline = false;
  private readonly maxEntries: number;
  private readonly keepEntries: number;
  private readonly now: () => Date;

  private constructor(file: string, loaded: Loaded, options: JournalOptions) {
    super();
    this.file = file;
    this.fd = loaded.fd;
    this.entries = loaded.entries;
    this.damagedLines = loaded.damaged;
    this.tornBytes = loaded.torn;
    this.seq = loaded.entries.at(-1)?.seq ?? 0;
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.keepEntries = Math.min(this.maxEntries, Math.max(1, options.keepEntries ?? DEFAULT_KEEP_ENTRIES));
    this.now = options.now ?? (() => new Date());
  }

  /** Opens (or creates, mode 0600 in a 0700 folder) the journal at `file`. */
  static open(file: string, options: JournalOptions = {}): Journal {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    return new Journal(file, load(file), options);
  }

  /** The seq of the newest entry; 0 for an empty journal. */
  get lastSeq(): number {
    return this.seq;
  }

  /** The seq of the oldest entry kept; null for an empty journal. */
  get firstSeq(): number | null {
    return this.entries[0]?.seq ?? null;
  }

  /** Entries kept (in memory and in the file). */
  get size(): number {
    return this.entries.length;
  }

  /** Records an event: written to the file, kept, and emitted as `entry`. */
  append(type: JournalEventType, task: string | null, data: unknown): JournalEntry {
    this.seq += 1;
    const entry: JournalEntry = { seq: this.seq, time: this.now().toISOString(), type, task, data };
    this.entries.push(entry);
    this.write(entry);
    if (this.entries.length > this.maxEntries) this.rotate();
    this.emit('entry', entry);
    return entry;
  }

  /** Every kept entry with a seq greater than `seq`, oldest first. */
  since(seq: number): JournalSince {
    const from = Math.max(0, Math.floor(seq));
    const first = this.firstSeq;
    const truncated = from > this.seq || (first !== null && from < first - 1);
    const start = first === null ? 0 : Math.max(0, Math.min(this.entries.length, from - first + 1));
    // Not enumerable: the answer compares and serialises as the plain array of entries.
    return Object.defineProperty(this.entries.slice(start), 'truncated', {
      value: truncated,
    }) as JournalSince;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private write(entry: JournalEntry): void {
    const line = `${this.needsNewline ? '\n' : ''}${JSON.stringify(entry)}\n`;
    try {
      writeSync(this.fd, line);
      this.needsNewline = false;
    } catch (err) {
      this.needsNewline = true;
      this.emit('write_failed', err as Error, entry);
    }
  }

  /** Rewrites the file with the newest `keepEntries` entries, atomically. */
  private rotate(): void {
    const kept = this.entries.slice(-this.keepEntries);
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      // Keep appending to the old file; the next append tries again.
      this.emit('write_failed', err as Error, kept.at(-1)!);
      return;
    }
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a', 0o600);
    this.entries = kept;
    this.needsNewline = false;
  }
}

interface Loaded {
  fd: number;
  entries: JournalEntry[];
  damaged: number;
  torn: number;
}

function load(file: string): Loaded {
  const fd = openSync(file, 'a+', 0o600);
  try {
    const text = readFileSync(fd, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    const torn = Buffer.byteLength(text.slice(end));
    if (torn > 0) ftruncateSync(fd, fstatSync(fd).size - torn);
    const entries: JournalEntry[] = [];
    let damaged = 0;
    for (const line of text.slice(0, end).split('\n')) {
      if (line === '') continue;
      const entry = parseEntry(line);
      if (entry === null || entry.seq <= (entries.at(-1)?.seq ?? 0)) damaged += 1;
      else entries.push(entry);
    }
    return { fd, entries, damaged, torn };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function parseEntry(line: string): JournalEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Partial<JournalEntry>;
  if (typeof e.seq !== 'number' || !Number.isSafeInteger(e.seq) || e.seq < 1) return null;
  if (typeof e.time !== 'string' || typeof e.type !== 'string') return null;
  if (!(JOURNAL_EVENT_TYPES as readonly string[]).includes(e.type)) return null;
  if (e.task !== null && typeof e.task !== 'string') return null;
  return { seq: e.seq, time: e.time, type: e.type, task: e.task, data: e.data ?? null };
}
