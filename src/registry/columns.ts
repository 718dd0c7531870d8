/**
 * The one place where record fields meet table columns. Every query builds its column lists from here.
 */
import type { SessionRecord } from './types.js';

export const COLUMN_OF = {
  id: 'id',
  task: 'task',
  location: 'location',
  transport: 'transport',
  address: 'address',
  identity: 'identity',
  remoteName: 'remote_name',
  pid: 'pid',
  pidStartTime: 'pid_start_time',
  status: 'status',
  iteration: 'iteration',
  maxIterations: 'max_iterations',
  currentStory: 'current_story',
  agent: 'agent',
  taskDir: 'task_dir',
  branch: 'branch',
  worktree: 'worktree',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  startedAt: 'started_at',
  endedAt: 'ended_at',
  lastSeen: 'last_seen',
  exitReason: 'exit_reason',
  waitingUntil: 'waiting_until',
} as const satisfies { [K in keyof SessionRecord]: string };

export type SessionField = keyof SessionRecord;

export const FIELDS = Object.keys(COLUMN_OF) as SessionField[];

/** `id, task, ..., exit_reason` — the select list for whole records. */
export const SELECT_COLUMNS = FIELDS.map((f) => COLUMN_OF[f]).join(', ');

export type SessionRow = Record<string, unknown>;

/**
 * A record from a row read as an array (a statement in raw mode) of SELECT_COLUMNS: listings read rows this
 * way, which spares SQLite's binding building an object with a property per column for every row.
 */
export function valuesToRecord(v: readonly unknown[]): SessionRecord {
  // One object literal, its properties in FIELDS' order (test/registry/columns.test.ts holds it to that):
  // setting them one by one in a loop over FIELDS cost a listing of 1,000 rows a few ms in a fresh process.
  const record = {
    id: v[0] ?? null,
    task: v[1] ?? null,
    location: v[2] ?? null,
    transport: v[3] ?? null,
    address: v[4] ?? null,
    identity: v[5] ?? null,
    remoteName: v[6] ?? null,
    pid: v[7] ?? null,
    pidStartTime: v[8] ?? null,
    status: v[9] ?? null,
    iteration: v[10] ?? null,
    maxIterations: v[11] ?? null,
    currentStory: v[12] ?? null,
    agent: v[13] ?? null,
    taskDir: v[14] ?? null,
    branch: v[15] ?? null,
    worktree: v[16] ?? null,
    createdAt: v[17] ?? null,
    updatedAt: v[18] ?? null,
    startedAt: v[19] ?? null,
    endedAt: v[20] ?? null,
    lastSeen: v[21] ?? null,
    exitReason: v[22] ?? null,
    waitingUntil: v[23] ?? null,
  };
  return record as unknown as SessionRecord;
}

export function rowToRecord(row: SessionRow): SessionRecord {
  return valuesToRecord(FIELDS.map((field) => row[COLUMN_OF[field]]));
}

/** Named parameters (`@task`, ...) for the given fields of a partial record. */
export function recordToParams(fields: readonly SessionField[], values: Partial<SessionRecord>): SessionRow {
  const params: SessionRow = {};
  for (const field of fields) params[COLUMN_OF[field]] = values[field] ?? null;
  return params;
}

export function isSessionField(name: string): name is SessionField {
  return Object.prototype.hasOwnProperty.call(COLUMN_OF, name);
}
