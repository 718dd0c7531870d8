/**
 * SQL text for the registry's queries. Variable-length lists travel as one JSON parameter (`json_each`), so each
 * distinct query shape is prepared once and cached by its text.
 */
import { COLUMN_OF, FIELDS, SELECT_COLUMNS, type SessionField } from './columns.js';
import { TERMINAL_STATUSES, type ListFilter } from './types.js';

/** `('completed', ...)` — matches the partial unique index's WHERE clause. */
export const TERMINAL_SQL = `(${[...TERMINAL_STATUSES].map((s) => `'${s}'`).join(', ')})`;

const REMOTE_KEY = `COALESCE(remote_name, '')`;

export const SQL = {
  get: `SELECT ${SELECT_COLUMNS} FROM sessions WHERE id = ?`,
  findActive: `SELECT ${SELECT_COLUMNS} FROM sessions
    WHERE task = @task AND ${REMOTE_KEY} = @remote AND status NOT IN ${TERMINAL_SQL}
    ORDER BY id DESC LIMIT 1`,
  latest: `SELECT ${SELECT_COLUMNS} FROM sessions
    WHERE task = @task AND ${REMOTE_KEY} = @remote ORDER BY id DESC LIMIT 1`,
  markSeen: `UPDATE sessions SET last_seen = @at, updated_at = @now WHERE id = @id AND status NOT IN ${TERMINAL_SQL}`,
  /**
   * Ends each open row of `@ends` (a JSON array of {status, exitReason, was: the row as read}) whose every column
   * still holds what was read (`IS`, so that NULLs compare equal). Target columns are named with the table:
   * json_each has an `id` column of its own.
   */
  endIfUnchanged: `UPDATE sessions SET status = j.value ->> '$.status', exit_reason = j.value ->> '$.exitReason',
      updated_at = @now, ended_at = @now
    FROM json_each(@ends) AS j
    WHERE sessions.id = j.value ->> '$.was.id' AND sessions.status NOT IN ${TERMINAL_SQL}
      AND ${FIELDS.map((f) => `sessions.${COLUMN_OF[f]} IS j.value ->> '$.was.${f}'`).join(' AND ')}
    RETURNING ${SELECT_COLUMNS}`,
  pruneWhere: `status IN (SELECT value FROM json_each(@statuses)) AND status IN ${TERMINAL_SQL}
    AND (@cutoff IS NULL OR COALESCE(ended_at, updated_at) < @cutoff)`,
} as const;

const INSERT_FIELDS = FIELDS.filter((f) => f !== 'id');

export const INSERT = {
  fields: INSERT_FIELDS,
  sql: `INSERT INTO sessions (${INSERT_FIELDS.map((f) => COLUMN_OF[f]).join(', ')})
    VALUES (${INSERT_FIELDS.map((f) => `@${COLUMN_OF[f]}`).join(', ')})`,
};

export function updateSql(fields: readonly SessionField[]): string {
  const sets = fields.map((f) => `${COLUMN_OF[f]} = @${COLUMN_OF[f]}`).join(', ');
  return `UPDATE sessions SET ${sets} WHERE id = @id`;
}

export interface ListQuery {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * Default: the newest row of each (task, remote) pair, then filtered, ordered by task and remote. With `all`:
 * every matching row, newest first. An empty status list means no status filter.
 */
export function listQuery(filter: ListFilter): ListQuery {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.task !== undefined) {
    where.push('task = @task');
    params.task = filter.task;
  }
  if (filter.location !== undefined) {
    where.push('location = @location');
    params.location = filter.location;
  }
  if (filter.remoteName !== undefined) {
    where.push('remote_name = @remote_name');
    params.remote_name = filter.remoteName;
  }
  if (filter.status !== undefined && filter.status.length > 0) {
    where.push('status IN (SELECT value FROM json_each(@statuses))');
    params.statuses = JSON.stringify(filter.status);
  }
  if (filter.all !== true) {
    where.unshift(`id IN (SELECT MAX(id) FROM sessions GROUP BY task, ${REMOTE_KEY})`);
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const order = filter.all === true ? 'id DESC' : `task, ${REMOTE_KEY}`;
  return { sql: `SELECT ${SELECT_COLUMNS} FROM sessions ${clause} ORDER BY ${order}`, params };
}
