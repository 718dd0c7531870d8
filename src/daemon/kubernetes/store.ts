/**
 * The Kubernetes executor's own record of its loops, in a SQLite file beside the daemon's journal: which loops
 * it started (their ids name their Jobs), and what was last seen of each. The cluster is the truth while a Job
 * exists; this is what remains once it is gone (its TTL, a stop), and what tells a restarted daemon which
 * labelled Jobs are its own.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeBinding, Database } from '../../registry/sqlite.js';
import { BUSY_TIMEOUT_MS } from '../../registry/db.js';
import { isTerminal, type SessionStatus } from '../../registry/index.js';

export interface ClusterLoopRow {
  id: number;
  task: string;
  status: SessionStatus;
  iteration: number;
  maxIterations: number;
  agent: string;
  /** The task folder in the daemon's workspace the loop's files came from. */
  taskDir: string;
  branch: string | null;
  /** The runner's socket inside the pod. */
  socket: string;
  job: string;
  /** A loop on a pushed branch: its project, the repository in the pod, and the commit it started from. */
  project: string | null;
  repo: string | null;
  basis: string | null;
  /** Its files reached its pod (so its runner can be followed). */
  delivered: boolean;
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  updatedAt: string;
}

interface Raw {
  id: number;
  task: string;
  status: string;
  iteration: number;
  max_iterations: number;
  agent: string;
  task_dir: string;
  branch: string | null;
  socket: string;
  job: string;
  project: string | null;
  repo: string | null;
  basis: string | null;
  delivered: number;
  reason: string | null;
  started_at: string;
  ended_at: string | null;
  updated_at: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS loops (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    task           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    iteration      INTEGER NOT NULL DEFAULT 0,
    max_iterations INTEGER NOT NULL,
    agent          TEXT    NOT NULL,
    task_dir       TEXT    NOT NULL,
    branch         TEXT,
    socket         TEXT    NOT NULL,
    job            TEXT    NOT NULL DEFAULT '',
    project        TEXT,
    repo           TEXT,
    basis          TEXT,
    delivered      INTEGER NOT NULL DEFAULT 0,
    reason         TEXT,
    started_at     TEXT    NOT NULL,
    ended_at       TEXT,
    updated_at     TEXT    NOT NULL
  );
  CREATE INDEX IF NOT EXISTS loops_task ON loops (task, id);
`;

function fromRaw(r: Raw): ClusterLoopRow {
  return {
    id: r.id,
    task: r.task,
    status: r.status as SessionStatus,
    iteration: r.iteration,
    maxIterations: r.max_iterations,
    agent: r.agent,
    taskDir: r.task_dir,
    branch: r.branch,
    socket: r.socket,
    job: r.job,
    project: r.project,
    repo: r.repo,
    basis: r.basis,
    delivered: r.delivered === 1,
    reason: r.reason,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    updatedAt: r.updated_at,
  };
}

export interface NewClusterLoop {
  task: string;
  maxIterations: number;
  agent: string;
  taskDir: string;
  branch: string | null;
  socket: string;
  project?: string | null;
  repo?: string | null;
  basis?: string | null;
}

export class ClusterLoopStore {
  private constructor(private readonly db: BetterSqlite3.Database) {}

  static open(file: string): ClusterLoopStore {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file, {
      timeout: BUSY_TIMEOUT_MS,
      nativeBinding: nativeBinding() as unknown as string,
    });
    try {
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; ${SCHEMA}`);
    } catch (err) {
      db.close();
      throw err;
    }
    return new ClusterLoopStore(db);
  }

  /** Records a loop about to start (status `starting`); its id names its Job. */
  create(loop: NewClusterLoop): ClusterLoopRow {
    const now = new Date().toISOString();
    const info = this.db
      .prepare(
        `INSERT INTO loops (task, status, max_iterations, agent, task_dir, branch, socket, project, repo, basis,
           started_at, updated_at)
         VALUES (?, 'starting', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        loop.task,
        loop.maxIterations,
        loop.agent,
        loop.taskDir,
        loop.branch,
        loop.socket,
        loop.project ?? null,
        loop.repo ?? null,
        loop.basis ?? null,
        now,
        now,
      );
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): ClusterLoopRow | undefined {
    const raw = this.db.prepare('SELECT * FROM loops WHERE id = ?').get(id) as Raw | undefined;
    return raw === undefined ? undefined : fromRaw(raw);
  }

  /** Sets what changed; an ended loop keeps its end (a late word from the cluster cannot reopen it). */
  update(
    id: number,
    change: Partial<Pick<ClusterLoopRow, 'status' | 'reason' | 'iteration' | 'job'>>,
  ): ClusterLoopRow | undefined {
    const row = this.get(id);
    if (row === undefined) return undefined;
    if (isTerminal(row.status) && change.status !== undefined) return row;
    const next = { ...row, ...change };
    const now = new Date().toISOString();
    const endedAt = row.endedAt ?? (isTerminal(next.status) ? now : null);
    this.db
      .prepare(
        'UPDATE loops SET status = ?, reason = ?, iteration = ?, job = ?, ended_at = ?, updated_at = ? WHERE id = ?',
      )
      .run(next.status, next.reason, next.iteration, next.job, endedAt, now, id);
    return this.get(id);
  }

  /** Every row, newest first. */
  all(): ClusterLoopRow[] {
    return (this.db.prepare('SELECT * FROM loops ORDER BY id DESC').all() as Raw[]).map(fromRaw);
  }

  /** The newest row of each task, newest first. */
  latestPerTask(limit: number): ClusterLoopRow[] {
    const raws = this.db
      .prepare(
        'SELECT * FROM loops WHERE id IN (SELECT MAX(id) FROM loops GROUP BY task) ORDER BY id DESC LIMIT ?',
      )
      .all(limit) as Raw[];
    return raws.map(fromRaw);
  }

  /** Records that a loop's files reached its pod. */
  markDelivered(id: number): void {
    this.db.prepare('UPDATE loops SET delivered = 1 WHERE id = ?').run(id);
  }

  /** Rows not ended. */
  open(): ClusterLoopRow[] {
    return this.all().filter((r) => !isTerminal(r.status));
  }

  latest(task: string): ClusterLoopRow | undefined {
    const raw = this.db.prepare('SELECT * FROM loops WHERE task = ? ORDER BY id DESC LIMIT 1').get(task) as
      Raw | undefined;
    return raw === undefined ? undefined : fromRaw(raw);
  }

  close(): void {
    this.db.close();
  }
}
