/**
 * The Registry: one SQLite file holding every loop session, local and remote. All writes that read before
 * they write run inside BEGIN IMMEDIATE, so concurrent processes never lose each other's updates.
 */
import type Database from 'better-sqlite3';
import { Database as SqliteDatabase } from './sqlite.js';
import { ralphPaths } from '../config/paths.js';
import { ExitCode, RalphError } from '../errors.js';
import {
  isSessionField,
  recordToParams,
  rowToRecord,
  valuesToRecord,
  type SessionField,
  type SessionRow,
} from './columns.js';
import { openDatabase, toRegistryError } from './db.js';
import {
  invalidSessionError,
  sessionNotFoundError,
  taskActiveError,
  terminalSessionError,
} from './errors.js';
import { INSERT, SQL, listQuery, updateSql } from './queries.js';
import {
  isTerminal,
  TERMINAL_STATUSES,
  type ListFilter,
  type NewSession,
  type PruneOptions,
  type SessionPatch,
  type SessionRecord,
  type SessionStatus,
  type UpdateOptions,
} from './types.js';
import { isoTime } from '../util/clock.js';

export interface RegistryOpenOptions {
  env?: NodeJS.ProcessEnv;
  /** Clock for timestamps; default `new Date()`. */
  now?: () => Date;
}

const FROZEN_FIELDS: ReadonlySet<string> = new Set(['id', 'createdAt']);

export class Registry {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly statements = new Map<string, Database.Statement>();
  /**
   * One transaction function for every call, given the work as its argument: `db.transaction()` builds four
   * wrappers with their properties each time it is called, and reconciling calls `transaction` twice per row.
   */
  private readonly atomically: Database.Transaction<(fn: () => unknown) => unknown>;

  private constructor(file: string, db: Database.Database, clock: () => Date) {
    this.file = file;
    this.db = db;
    this.clock = clock;
    this.atomically = db.transaction((fn: () => unknown) => fn());
  }

  /** Opens the registry at `file` (default: the registry file under the ralph data directory). */
  static open(file?: string, options: RegistryOpenOptions = {}): Registry {
    const env = options.env ?? process.env;
    const path = file ?? ralphPaths(env).registryFile;
    const db = openDatabase(path, { env });
    return new Registry(path, db, options.now ?? (() => new Date()));
  }

  /** Registers a session. Throws TASK_ACTIVE when the task already has a non-terminal session there. */
  create(input: NewSession): SessionRecord {
    checkRemoteName(input.remoteName);
    return this.transaction(() => {
      const remoteName = input.remoteName ?? null;
      const status = input.status ?? 'starting';
      if (!isTerminal(status)) {
        const active = this.findActive(input.task, remoteName);
        if (active !== undefined) throw taskActiveError(input.task, remoteName, active);
      }
      const now = this.now();
      const values: Partial<SessionRecord> = {
        ...input,
        remoteName,
        status,
        iteration: input.iteration ?? 0,
        createdAt: now,
        updatedAt: now,
        endedAt: input.endedAt ?? (isTerminal(status) ? now : null),
      };
      const info = this.run(INSERT.sql, recordToParams(INSERT.fields, values), () =>
        taskActiveError(input.task, remoteName, this.findActive(input.task, remoteName)),
      );
      return this.mustGet(Number(info.lastInsertRowid));
    });
  }

  /**
   * Patches a session and stamps `updatedAt`. Entering a terminal status stamps `endedAt`. Leaving a terminal
   * status is refused (SESSION_TERMINAL) unless `force` is set; a forced revival clears `endedAt`.
   */
  update(id: number, patch: SessionPatch, options: UpdateOptions = {}): SessionRecord {
    checkRemoteName(patch.remoteName);
    return this.transaction(() => {
      const current = this.get(id);
      if (current === undefined) throw sessionNotFoundError(id);
      const next: SessionPatch = { ...patch, updatedAt: patch.updatedAt ?? this.now() };
      if (patch.status !== undefined && patch.status !== current.status) {
        const wasTerminal = isTerminal(current.status);
        const willBeTerminal = isTerminal(patch.status);
        if (wasTerminal && !willBeTerminal && options.force !== true) {
          throw terminalSessionError(current, patch.status);
        }
        if (patch.endedAt === undefined && wasTerminal !== willBeTerminal) {
          next.endedAt = willBeTerminal ? this.now() : null;
        }
      }
      const fields = Object.keys(next).filter(
        (k): k is SessionField =>
          isSessionField(k) && !FROZEN_FIELDS.has(k) && next[k as keyof SessionPatch] !== undefined,
      );
      const task = next.task ?? current.task;
      const remoteName = next.remoteName !== undefined ? next.remoteName : current.remoteName;
      this.run(updateSql(fields), { ...recordToParams(fields, next), id }, () =>
        taskActiveError(task, remoteName, this.findActive(task, remoteName)),
      );
      return this.mustGet(id);
    });
  }

  /**
   * Ends open sessions that are still exactly as they were read (every field equal), each with its own terminal
   * status and reason, all in one statement: reconciliation's write, which never overwrites a row that moved on
   * after it was read. One statement for all of them: SQLite rebuilds the temporary tables that test the status
   * lists of the table's checks and unique index for every statement, and a fresh process paid about 0.2 ms per
   * row for a read, a write and a read-back each. Returns the sessions it ended, in the order given.
   */
  endIfUnchanged(
    ends: readonly { observed: SessionRecord; status: SessionStatus; exitReason: string }[],
  ): SessionRecord[] {
    if (ends.length === 0) return [];
    for (const { status } of ends) {
      if (!isTerminal(status))
        throw invalidSessionError(`endIfUnchanged needs a terminal status, got ${status}`);
    }
    const json = JSON.stringify(
      ends.map(({ observed, status, exitReason }) => ({ status, exitReason, was: observed })),
    );
    const rows = this.guard(
      () => this.stmt(SQL.endIfUnchanged).raw(true).all({ ends: json, now: this.now() }) as unknown[][],
    );
    const ended = new Map(rows.map((values) => [values[0] as number, valuesToRecord(values)]));
    return ends.flatMap(({ observed }) => ended.get(observed.id) ?? []);
  }

  /**
   * Stamps each row's `lastSeen` (and `updatedAt`) if it is still open, in one transaction: what reconciling does
   * to rows it finds unchanged, without reading and rewriting each whole row. Returns the ids stamped.
   */
  markSeen(rows: readonly { id: number; at: string }[]): Set<number> {
    if (rows.length === 0) return new Set();
    return this.transaction(() => {
      const now = this.now();
      const statement = this.stmt(SQL.markSeen);
      return new Set(
        rows.filter(({ id, at }) => statement.run({ id, at, now }).changes > 0).map((r) => r.id),
      );
    });
  }

  get(id: number): SessionRecord | undefined {
    const row = this.guard(() => this.stmt(SQL.get).get(id) as SessionRow | undefined);
    return row === undefined ? undefined : rowToRecord(row);
  }

  /** The non-terminal session of a task; `remoteName` null or omitted means this machine. */
  findActive(task: string, remoteName: string | null = null): SessionRecord | undefined {
    return this.one(SQL.findActive, { task, remote: remoteName ?? '' });
  }

  /** The newest session of a task, whatever its status; `remoteName` null or omitted means this machine. */
  latest(task: string, remoteName: string | null = null): SessionRecord | undefined {
    return this.one(SQL.latest, { task, remote: remoteName ?? '' });
  }

  /** Newest row per (task, remote) by default; with `all`, every row newest first. Filters apply after. */
  list(filter: ListFilter = {}): SessionRecord[] {
    const { sql, params } = listQuery(filter);
    // Raw mode (arrays, not objects): listings read many rows. Only list() runs listing statements.
    const rows = this.guard(() => this.stmt(sql).raw(true).all(params) as unknown[][]);
    return rows.map(valuesToRecord);
  }

  /** Deletes terminal sessions (the only way rows are ever removed) and returns them. */
  prune(options: PruneOptions = {}): SessionRecord[] {
    const statuses = options.statuses ?? [...TERMINAL_STATUSES];
    const live = statuses.filter((s) => !isTerminal(s));
    if (live.length > 0) {
      throw new RalphError(
        'PRUNE_NON_TERMINAL',
        `cannot prune sessions with non-terminal status ${live.join(', ')}`,
        {
          hint: `prunable statuses: ${[...TERMINAL_STATUSES].join(', ')}`,
          exitCode: ExitCode.usage,
        },
      );
    }
    const olderThan = options.olderThanMs;
    if (olderThan !== undefined && !(Number.isFinite(olderThan) && olderThan >= 0)) {
      throw new RalphError(
        'INVALID_PRUNE_AGE',
        `prune age must be a non-negative number of ms, got ${olderThan}`,
        {
          exitCode: ExitCode.usage,
        },
      );
    }
    const reference = options.now ?? this.clock();
    const params = {
      statuses: JSON.stringify(statuses),
      cutoff: olderThan === undefined ? null : isoTime(reference.getTime() - olderThan),
    };
    return this.transaction(() => {
      const doomed = this.stmt(`SELECT * FROM sessions WHERE ${SQL.pruneWhere} ORDER BY id`).all(params);
      if (options.dryRun !== true) this.stmt(`DELETE FROM sessions WHERE ${SQL.pruneWhere}`).run(params);
      return (doomed as SessionRow[]).map(rowToRecord);
    });
  }

  /** Runs `fn` inside BEGIN IMMEDIATE (a savepoint when nested). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    return this.guard(() => this.atomically.immediate(fn) as T);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private now(): string {
    return isoTime(this.clock());
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private one(sql: string, params: Record<string, unknown>): SessionRecord | undefined {
    const row = this.guard(() => this.stmt(sql).get(params) as SessionRow | undefined);
    return row === undefined ? undefined : rowToRecord(row);
  }

  private mustGet(id: number): SessionRecord {
    const record = this.get(id);
    if (record === undefined) throw sessionNotFoundError(id);
    return record;
  }

  /** Runs a write; a unique-index violation becomes `onConflict()`, a CHECK violation INVALID_SESSION. */
  private run(
    sql: string,
    params: Record<string, unknown>,
    onConflict: () => RalphError,
  ): Database.RunResult {
    try {
      return this.stmt(sql).run(params);
    } catch (err) {
      if (err instanceof SqliteDatabase.SqliteError) {
        if (err.code === 'SQLITE_CONSTRAINT_UNIQUE') throw onConflict();
        if (/^SQLITE_CONSTRAINT_(CHECK|NOTNULL)$/.test(err.code)) throw invalidSessionError(err.message);
      }
      throw err;
    }
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toRegistryError(err, this.file);
    }
  }
}

function checkRemoteName(name: string | null | undefined): void {
  if (name === '') throw invalidSessionError("remote name '' is not allowed; use null for local sessions");
}
