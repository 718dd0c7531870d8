/**
 * What local and remote reconciliation share: the report they fill.
 */
import type { SessionRecord } from './types.js';

export interface ReconcileReport {
  /** Sessions examined. */
  checked: number;
  crashed: SessionRecord[];
  /** Remote sessions their remote no longer knows. */
  lost: SessionRecord[];
  unreachable: SessionRecord[];
  alive: SessionRecord[];
  /** Local sessions still starting within their grace period. */
  pending: SessionRecord[];
  /** Remote probes that threw (their sessions were left unchanged); a crashed session's files that failed. */
  errors: { remoteName: string; message: string }[];
  /** Agents of crashed local sessions that still run (same pid and start time as recorded). */
  survivors: { session: SessionRecord; pid: number }[];
}

/** A report with nothing in it yet. */
export function emptyReport(): ReconcileReport {
  return {
    checked: 0,
    crashed: [],
    lost: [],
    unreachable: [],
    alive: [],
    pending: [],
    errors: [],
    survivors: [],
  };
}
