/**
 * The daemon's side of the wire as this client reads it: the greeting (sent before any request, so not in the
 * method table) and, from the daemon's method table, the results of the methods this client calls.
 */
import type { JournalEntry } from '../../daemon/journal.js';
import type { DaemonParamsOf, DaemonResultOf } from '../../daemon/methods.js';

export type { LoopSummary } from '../../daemon/methods.js';

export type DaemonRole = 'observe' | 'control';

/** The notification a daemon sends first on every connection. */
export interface DaemonHello {
  version: string;
  service: string;
  /** 32 random bytes, base64url: what `authenticate` signs. */
  nonce: string;
  auth: 'required' | 'none';
  identity: string | null;
  role: DaemonRole | null;
}

export type DaemonHealth = DaemonResultOf<'get_health'>;
export type ListLoopsResult = DaemonResultOf<'list_loops'>;
export type StartLoopParams = DaemonParamsOf<'start_loop'>;
export type StartLoopResult = DaemonResultOf<'start_loop'>;
export type SubscribeEventsResult = DaemonResultOf<'subscribe_events'>;
/** One journal entry, as a `loop_event` notification carries it. */
export type LoopEvent = JournalEntry;
