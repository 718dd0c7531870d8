/**
 * The daemon's audit log: one NDJSON line per request, `{time, identity, role, transport, method, task,
 * outcome, code?}`. Never params, never keys: a line is built from these fields only, whatever the caller
 * passes. Writing never holds up serving and never throws into it: lines queue in memory (bounded) and one
 * write runs at a time; a failed write (a full disk, above all) is reported once through `onWarning` and the
 * lines that follow are dropped, until a retry after `retryMs` succeeds (reported too, with the count).
 * The file rotates at `maxBytes` (10 MiB), keeping the previous one as `<file>.1`.
 */
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RalphPaths } from '../config/paths.js';
import type { Role } from './roles.js';

/** Where the audit log goes when the daemon's config does not say: `<dataDir>/daemon/audit.ndjson`. */
export function defaultAuditFile(paths: Pick<RalphPaths, 'dataDir'>): string {
  return join(paths.dataDir, 'daemon', 'audit.ndjson');
}

export interface AuditRecord {
  /** ISO 8601, UTC. */
  time: string;
  /** The caller's identity (Ziti identity id, or `local:<uid>` on the daemon's Unix socket); null before it is known. */
  identity: string | null;
  role: Role | null;
  transport: 'unix' | 'ziti';
  method: string;
  task: string | null;
  outcome: 'ok' | 'error';
  /** The error code, when the outcome is an error. */
  code?: number;
}

export type AuditInput = Omit<AuditRecord, 'time'> & { time?: string };

export interface AuditLogOptions {
  /** Rotate once the file would pass this size (default 10 MiB). */
  maxBytes?: number;
  /** Lines waiting to be written beyond this many bytes are dropped (default 1 MiB). */
  maxQueuedBytes?: number;
  /** After a failed write, drop lines for this long before trying again (default 30 s). */
  retryMs?: number;
  /** Told about failures and recoveries, once each; the daemon logs them. */
  onWarning?: (message: string) => void;
  now?: () => Date;
}

export const AUDIT_MAX_BYTES = 10 * 1024 * 1024;
/** Longest method or task name kept in a line: a hostile request cannot make lines large. */
export const MAX_AUDIT_FIELD = 200;

function bounded(value: string | null): string | null {
  return value === null || value.length <= MAX_AUDIT_FIELD ? value : `${value.slice(0, MAX_AUDIT_FIELD)}…`;
}

/** One line, from the known fields only. */
export function auditLine(record: AuditRecord): string {
  const line: AuditRecord = {
    time: record.time,
    identity: bounded(record.identity),
    role: record.role,
    transport: record.transport,
    method: bounded(record.method) ?? '',
    task: bounded(record.task),
    outcome: record.outcome,
  };
  if (record.code !== undefined) line.code = record.code;
  return `${JSON.stringify(line)}\n`;
}

export class AuditLog {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly retryMs: number;
  private readonly warn: (message: string) => void;
  private readonly now: () => Date;
  private queue: string[] = [];
  private queuedBytes = 0;
  private size: number | null = null;
  private handle: FileHandle | null = null;
  private pumping: Promise<void> | null = null;
  /** While set, lines are dropped until this time; then one write is tried again. */
  private failedUntil: number | null = null;
  private dropped = 0;
  private closed = false;
  /** A write failed, perhaps part-way: the next one starts on a line of its own. */
  private needsNewline = false;

  constructor(file: string, options: AuditLogOptions = {}) {
    this.file = file;
    this.maxBytes = options.maxBytes ?? AUDIT_MAX_BYTES;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 1024 * 1024;
    this.retryMs = options.retryMs ?? 30_000;
    this.warn = options.onWarning ?? (() => undefined);
    this.now = options.now ?? (() => new Date());
  }

  /** Creates the folder (0700) and the file (0600) now, so that a bad path shows at start-up. */
  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    return new AuditLog(file, options);
  }

  /** Lines dropped since the last successful write. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Queues one line. Never throws, never waits. */
  record(input: AuditInput): void {
    if (this.closed) return;
    try {
      const line = auditLine({ ...input, time: input.time ?? this.now().toISOString() });
      if (this.failedUntil !== null && this.now().getTime() < this.failedUntil) {
        this.dropped += 1;
        return;
      }
      if (this.queuedBytes + line.length > this.maxQueuedBytes) {
        this.drop(1, 'the audit queue is full (the disk is slow)');
        return;
      }
      this.queue.push(line);
      this.queuedBytes += line.length;
      this.pumping ??= this.pump().finally(() => (this.pumping = null));
    } catch (err) {
      this.drop(1, `an audit line could not be made: ${String(err)}`);
    }
  }

  /** Resolves once every queued line has been written (or dropped). */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  private drop(count: number, why: string): void {
    if (this.dropped === 0) this.warn(`audit log ${this.file}: dropping lines: ${why}`);
    this.dropped += count;
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = (this.needsNewline ? '\n' : '') + this.queue.join('');
      const count = this.queue.length;
      this.queue = [];
      this.queuedBytes = 0;
      try {
        await this.write(batch);
        if (this.dropped > 0) {
          this.warn(`audit log ${this.file}: writing again; ${this.dropped} line(s) were dropped`);
          this.dropped = 0;
        }
        this.failedUntil = null;
        this.needsNewline = false;
      } catch (err) {
        this.needsNewline = true;
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        const why = code === 'ENOSPC' ? 'the disk is full' : `write failed (${code})`;
        this.drop(count + this.queue.length, why);
        this.queue = [];
        this.queuedBytes = 0;
        this.failedUntil = this.now().getTime() + this.retryMs;
        await this.handle?.close().catch(() => undefined);
        this.handle = null;
        this.size = null;
      }
    }
  }

  private async write(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    if (this.size === null)
      this.size = await stat(this.file).then(
        (s) => s.size,
        () => 0,
      );
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      await this.handle?.close();
      this.handle = null;
      await rename(this.file, `${this.file}.1`);
      this.size = 0;
    }
    this.handle ??= await open(this.file, 'a', 0o600);
    await this.handle.appendFile(text);
    this.size += bytes;
  }
}

export interface AuditQuery {
  identity?: string;
  task?: string;
  /** Records at or after this time. */
  since?: Date;
}

/** The records of the log and its rotated predecessor, oldest first, that match the query. */
export function readAudit(file: string, query: AuditQuery = {}): AuditRecord[] {
  const out: AuditRecord[] = [];
  const since = query.since?.getTime();
  for (const path of [`${file}.1`, file]) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const line of text.split('\n')) {
      const record = parseRecord(line);
      if (record === null) continue;
      if (query.identity !== undefined && record.identity !== query.identity) continue;
      if (query.task !== undefined && record.task !== query.task) continue;
      if (since !== undefined && !(Date.parse(record.time) >= since)) continue;
      out.push(record);
    }
  }
  return out;
}

function parseRecord(line: string): AuditRecord | null {
  if (line.trim() === '') return null;
  try {
    const value = JSON.parse(line) as Partial<AuditRecord> | null;
    if (typeof value !== 'object' || value === null) return null;
    if (typeof value.time !== 'string' || typeof value.method !== 'string') return null;
    if (value.outcome !== 'ok' && value.outcome !== 'error') return null;
    return value as AuditRecord;
  } catch {
    return null;
  }
}
