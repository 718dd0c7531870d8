/**
 * The session registry: one SQLite file recording every Ralph loop, local and remote.
 */
export {
  SESSION_STATUSES,
  TERMINAL_STATUSES,
  isSessionStatus,
  isTerminal,
  type ListFilter,
  type NewSession,
  type PruneOptions,
  type SessionLocation,
  type SessionPatch,
  type SessionRecord,
  type SessionStatus,
  type SessionTransport,
  type UpdateOptions,
} from './types.js';
export { Registry, type RegistryOpenOptions } from './sessions.js';
export { BUSY_TIMEOUT_MS } from './db.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export {
  reconcile,
  DEFAULT_SOCKET_TIMEOUT_MS,
  DEFAULT_START_GRACE_MS,
  type ReconcileOptions,
  type ReconcileReport,
  type RemoteProbe,
  type SocketProbe,
} from './reconcile.js';
export { judgeLocal, type LocalObservation, type LocalVerdict } from './verdict.js';
export { probeUnixSocket } from './probe.js';
