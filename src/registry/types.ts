/**
 * The registry's record types. A session is one run of a Ralph loop for one task, on this machine (`local`) or on
 * a named remote (`remote`). Rows outlive their loops: a finished loop keeps its row, with a terminal status,
 * until it is pruned.
 */
import { LOOP_STATUSES } from '../protocol/statuses.js';

/**
 * A loop's own statuses, plus those only reconciliation gives: `crashed` (its runner died without recording an
 * end), `lost` (the daemon that ran it, or this client, can no longer account for it) and (remote)
 * `unreachable`.
 */
export const SESSION_STATUSES = [...LOOP_STATUSES, 'crashed', 'lost', 'unreachable'] as const;

export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses a session never leaves on its own; the runner behind it is finished. */
export const TERMINAL_STATUSES: ReadonlySet<SessionStatus> = new Set<SessionStatus>([
  'completed',
  'exhausted',
  'failed',
  'stopped',
  'stalled',
  'budget_exceeded',
  'crashed',
  'lost',
]);

export function isTerminal(status: SessionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export function isSessionStatus(value: unknown): value is SessionStatus {
  return typeof value === 'string' && (SESSION_STATUSES as readonly string[]).includes(value);
}

export type SessionLocation = 'local' | 'remote';
export type SessionTransport = 'unix' | 'ziti';

export interface SessionRecord {
  id: number;
  task: string;
  location: SessionLocation;
  transport: SessionTransport;
  /** Unix socket path (local) or Ziti service name (remote). */
  address: string;
  /** Identity file used to reach a remote; null for local sessions. */
  identity: string | null;
  /** Name of the remote in the remotes configuration; null for local sessions (never ''). */
  remoteName: string | null;
  /** Runner process id on the machine that runs the loop. */
  pid: number | null;
  /** Kernel start time of `pid` (clock ticks since boot, from /proc); detects pid reuse. */
  pidStartTime: string | null;
  status: SessionStatus;
  iteration: number;
  maxIterations: number;
  currentStory: string | null;
  agent: string;
  taskDir: string;
  branch: string | null;
  worktree: string | null;
  /** ISO-8601 UTC timestamps. */
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  lastSeen: string | null;
  exitReason: string | null;
  /** While `waiting` on a rate limit: when it is expected to reset (ISO-8601); null otherwise. */
  waitingUntil: string | null;
}

type RequiredOnCreate = 'task' | 'location' | 'transport' | 'address' | 'agent' | 'taskDir' | 'maxIterations';

/** What `Registry.create` needs; everything else has a default (status `starting`, iteration 0, nulls). */
export type NewSession = Pick<SessionRecord, RequiredOnCreate> &
  Partial<Omit<SessionRecord, RequiredOnCreate | 'id' | 'createdAt' | 'updatedAt'>>;

export type SessionPatch = Partial<Omit<SessionRecord, 'id' | 'createdAt'>>;

export interface UpdateOptions {
  /** Allow moving a terminal session back to a non-terminal status. */
  force?: boolean;
}

export interface ListFilter {
  task?: string;
  status?: SessionStatus[];
  location?: SessionLocation;
  remoteName?: string;
  /** Every row, newest first, instead of the newest row per (task, remote). */
  all?: boolean;
}

export interface PruneOptions {
  /** Only rows that ended (or were last updated) more than this many milliseconds ago. */
  olderThanMs?: number;
  /** Terminal statuses to prune; default all terminal statuses. A non-terminal status is an error. */
  statuses?: SessionStatus[];
  /** Return what would be deleted without deleting it. */
  dryRun?: boolean;
  /** Reference time for `olderThanMs`; default now. */
  now?: Date;
}
