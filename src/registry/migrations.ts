/**
 * Schema migrations. Entry i takes a database from `user_version` i to i + 1. Entries are append-only: a shipped
 * step is never edited, a change is a new step. All pending steps run in one BEGIN IMMEDIATE transaction, and the
 * version is re-read after the write lock is held, so two processes opening a fresh file at once migrate it once.
 */
import type Database from 'better-sqlite3';
import { ExitCode, RalphError } from '../errors.js';

export interface Migration {
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'sessions table',
    sql: `
      CREATE TABLE sessions (
        id             INTEGER PRIMARY KEY,
        task           TEXT    NOT NULL CHECK (task <> ''),
        location       TEXT    NOT NULL CHECK (location IN ('local', 'remote')),
        transport      TEXT    NOT NULL CHECK (transport IN ('unix', 'ziti')),
        address        TEXT    NOT NULL CHECK (address <> ''),
        identity       TEXT,
        remote_name    TEXT    CHECK (remote_name IS NULL OR remote_name <> ''),
        pid            INTEGER CHECK (pid IS NULL OR pid > 0),
        pid_start_time TEXT,
        status         TEXT    NOT NULL CHECK (status IN ('starting', 'running', 'paused', 'interactive',
                                 'stopping', 'completed', 'exhausted', 'failed', 'stopped', 'crashed',
                                 'unreachable')),
        iteration      INTEGER NOT NULL DEFAULT 0 CHECK (iteration >= 0),
        max_iterations INTEGER NOT NULL CHECK (max_iterations >= 0),
        current_story  TEXT,
        agent          TEXT    NOT NULL,
        task_dir       TEXT    NOT NULL,
        branch         TEXT,
        worktree       TEXT,
        created_at     TEXT    NOT NULL,
        updated_at     TEXT    NOT NULL,
        started_at     TEXT,
        ended_at       TEXT,
        last_seen      TEXT,
        exit_reason    TEXT,
        CHECK ((location = 'local') = (remote_name IS NULL))
      );
      CREATE INDEX sessions_task ON sessions (task);
      CREATE INDEX sessions_status ON sessions (status);
      CREATE UNIQUE INDEX sessions_one_active ON sessions (task, COALESCE(remote_name, ''))
        WHERE status NOT IN ('completed', 'exhausted', 'failed', 'stopped', 'crashed');
    `,
  },
  {
    // SQLite cannot change a CHECK constraint in place: the table is rebuilt with the wider status list.
    description: 'statuses waiting, stalled and budget_exceeded; waiting_until',
    sql: `
      CREATE TABLE sessions_next (
        id             INTEGER PRIMARY KEY,
        task           TEXT    NOT NULL CHECK (task <> ''),
        location       TEXT    NOT NULL CHECK (location IN ('local', 'remote')),
        transport      TEXT    NOT NULL CHECK (transport IN ('unix', 'ziti')),
        address        TEXT    NOT NULL CHECK (address <> ''),
        identity       TEXT,
        remote_name    TEXT    CHECK (remote_name IS NULL OR remote_name <> ''),
        pid            INTEGER CHECK (pid IS NULL OR pid > 0),
        pid_start_time TEXT,
        status         TEXT    NOT NULL CHECK (status IN ('starting', 'running', 'paused', 'interactive',
                                 'stopping', 'waiting', 'completed', 'exhausted', 'failed', 'stopped',
                                 'stalled', 'budget_exceeded', 'crashed', 'unreachable')),
        iteration      INTEGER NOT NULL DEFAULT 0 CHECK (iteration >= 0),
        max_iterations INTEGER NOT NULL CHECK (max_iterations >= 0),
        current_story  TEXT,
        agent          TEXT    NOT NULL,
        task_dir       TEXT    NOT NULL,
        branch         TEXT,
        worktree       TEXT,
        created_at     TEXT    NOT NULL,
        updated_at     TEXT    NOT NULL,
        started_at     TEXT,
        ended_at       TEXT,
        last_seen      TEXT,
        exit_reason    TEXT,
        waiting_until  TEXT,
        CHECK ((location = 'local') = (remote_name IS NULL))
      );
      INSERT INTO sessions_next (id, task, location, transport, address, identity, remote_name, pid,
        pid_start_time, status, iteration, max_iterations, current_story, agent, task_dir, branch, worktree,
        created_at, updated_at, started_at, ended_at, last_seen, exit_reason)
      SELECT id, task, location, transport, address, identity, remote_name, pid, pid_start_time, status,
        iteration, max_iterations, current_story, agent, task_dir, branch, worktree, created_at, updated_at,
        started_at, ended_at, last_seen, exit_reason FROM sessions;
      DROP TABLE sessions;
      ALTER TABLE sessions_next RENAME TO sessions;
      CREATE INDEX sessions_task ON sessions (task);
      CREATE INDEX sessions_status ON sessions (status);
      CREATE UNIQUE INDEX sessions_one_active ON sessions (task, COALESCE(remote_name, ''))
        WHERE status NOT IN ('completed', 'exhausted', 'failed', 'stopped', 'stalled', 'budget_exceeded',
                             'crashed');
    `,
  },
  {
    // As step 2: the CHECK constraint widens by a rebuild.
    description: 'status lost',
    sql: `
      CREATE TABLE sessions_next (
        id             INTEGER PRIMARY KEY,
        task           TEXT    NOT NULL CHECK (task <> ''),
        location       TEXT    NOT NULL CHECK (location IN ('local', 'remote')),
        transport      TEXT    NOT NULL CHECK (transport IN ('unix', 'ziti')),
        address        TEXT    NOT NULL CHECK (address <> ''),
        identity       TEXT,
        remote_name    TEXT    CHECK (remote_name IS NULL OR remote_name <> ''),
        pid            INTEGER CHECK (pid IS NULL OR pid > 0),
        pid_start_time TEXT,
        status         TEXT    NOT NULL CHECK (status IN ('starting', 'running', 'paused', 'interactive',
                                 'stopping', 'waiting', 'completed', 'exhausted', 'failed', 'stopped',
                                 'stalled', 'budget_exceeded', 'crashed', 'lost', 'unreachable')),
        iteration      INTEGER NOT NULL DEFAULT 0 CHECK (iteration >= 0),
        max_iterations INTEGER NOT NULL CHECK (max_iterations >= 0),
        current_story  TEXT,
        agent          TEXT    NOT NULL,
        task_dir       TEXT    NOT NULL,
        branch         TEXT,
        worktree       TEXT,
        created_at     TEXT    NOT NULL,
        updated_at     TEXT    NOT NULL,
        started_at     TEXT,
        ended_at       TEXT,
        last_seen      TEXT,
        exit_reason    TEXT,
        waiting_until  TEXT,
        CHECK ((location = 'local') = (remote_name IS NULL))
      );
      INSERT INTO sessions_next SELECT id, task, location, transport, address, identity, remote_name, pid,
        pid_start_time, status, iteration, max_iterations, current_story, agent, task_dir, branch, worktree,
        created_at, updated_at, started_at, ended_at, last_seen, exit_reason, waiting_until FROM sessions;
      DROP TABLE sessions;
      ALTER TABLE sessions_next RENAME TO sessions;
      CREATE INDEX sessions_task ON sessions (task);
      CREATE INDEX sessions_status ON sessions (status);
      CREATE UNIQUE INDEX sessions_one_active ON sessions (task, COALESCE(remote_name, ''))
        WHERE status NOT IN ('completed', 'exhausted', 'failed', 'stopped', 'stalled', 'budget_exceeded',
                             'crashed', 'lost');
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function assertNotTooNew(version: number, latest: number, file: string): void {
  if (version > latest) {
    throw new RalphError(
      'REGISTRY_TOO_NEW',
      `registry ${file} has schema version ${version}, newer than the ${latest} this ralph understands`,
      { hint: 'upgrade ralph, or point RALPH_HOME at another directory', exitCode: ExitCode.unavailable },
    );
  }
}

/** Brings the schema up to SCHEMA_VERSION; returns the version found before migrating. */
export function migrate(
  db: Database.Database,
  file: string,
  steps: readonly Migration[] = MIGRATIONS,
): number {
  const before = userVersion(db);
  assertNotTooNew(before, steps.length, file);
  if (before >= steps.length) return before;
  db.transaction(() => {
    const current = userVersion(db);
    assertNotTooNew(current, steps.length, file);
    for (let v = current; v < steps.length; v++) {
      const step = steps[v];
      if (step === undefined) break;
      db.exec(step.sql);
    }
    db.pragma(`user_version = ${steps.length}`);
  }).immediate();
  return before;
}
