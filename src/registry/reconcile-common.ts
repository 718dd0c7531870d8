/**
 * What local and remote reconciliation share: the report they fill and the guarded write they make.
 */
import { FIELDS } from './columns.js';
import type { Registry } from './sessions.js';
import { isTerminal, type SessionPatch, type SessionRecord } from './types.js';

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

/**
 * Applies `patch` only if the row is still non-terminal and, when `unchangedOnly`, untouched since it was
 * observed (every field equal): a row that moved on is judged afresh by the next pass, never overwritten.
 */
export function applyIfOpen(
  registry: Registry,
  observed: SessionRecord,
  patch: SessionPatch,
  unchangedOnly: boolean,
): SessionRecord | undefined {
  return registry.transaction(() => {
    const current = registry.get(observed.id);
    if (current === undefined || isTerminal(current.status)) return undefined;
    if (unchangedOnly && !sameRecord(current, observed)) return undefined;
    return registry.update(observed.id, patch);
  });
}

function sameRecord(a: SessionRecord, b: SessionRecord): boolean {
  return FIELDS.every((f) => a[f] === b[f]);
}
