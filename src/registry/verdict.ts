/**
 * The pure decision behind reconciling a local session: given what was observed about its runner process and
 * socket, is the loop alive, crashed (and why), still starting, or does its socket need probing first?
 */
import type { SessionStatus } from './types.js';

export interface LocalObservation {
  pid: number | null;
  /** Whether `pid` names a live process (false when pid is null). */
  alive: boolean;
  /** Start time stored in the registry. */
  recordedStartTime: string | null;
  /** Start time of the live process now holding `pid` (null when unknown). */
  currentStartTime: string | null;
  address: string;
  status: SessionStatus;
  /** Milliseconds since the row was last updated. */
  ageMs: number;
  /** How long a `starting` session may go without answering on its socket. */
  startGraceMs: number;
  /** Result of probing the socket; undefined when not probed yet. */
  socketAnswers?: boolean;
}

export type LocalVerdict =
  { kind: 'alive' } | { kind: 'crashed'; reason: string } | { kind: 'pending' } | { kind: 'probe' };

export function judgeLocal(o: LocalObservation): LocalVerdict {
  if (o.pid !== null && !o.alive) return { kind: 'crashed', reason: `runner process ${o.pid} is gone` };
  if (
    o.pid !== null &&
    o.recordedStartTime !== null &&
    o.currentStartTime !== null &&
    o.recordedStartTime !== o.currentStartTime
  ) {
    return { kind: 'crashed', reason: `pid ${o.pid} was reused by another process` };
  }
  if (o.socketAnswers === undefined) return { kind: 'probe' };
  if (o.socketAnswers) return { kind: 'alive' };
  // A runner that was just spawned may not have bound its socket yet.
  if (o.status === 'starting' && o.ageMs < o.startGraceMs) return { kind: 'pending' };
  return { kind: 'crashed', reason: `runner socket ${o.address} refuses connections` };
}
