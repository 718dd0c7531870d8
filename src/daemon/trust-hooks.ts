/**
 * What the daemon's router needs from its trust pieces (proof of identity, audit log, event journal), as small
 * interfaces: `verifyProofRequest` (auth.ts), `AuditLog` (audit.ts) and `Journal` (journal.ts) fit them, and
 * tests may give others.
 */
import type { AuditInput } from './audit.js';
import type { ProofRequest } from './auth.js';
import type { JournalEntry, JournalEventType } from './journal.js';

export type { JournalEntry };

/** The event journal as the daemon uses it: append, replay after a seq, and new entries as they come. */
export interface EventJournal {
  append(type: JournalEventType, task: string | null, data: unknown): JournalEntry;
  /** Entries after `seq`; a `truncated: true` property on the array says older ones were dropped. */
  since(seq: number): JournalEntry[];
  readonly lastSeq: number;
  on(event: 'entry', listener: (entry: JournalEntry) => void): unknown;
  off(event: 'entry', listener: (entry: JournalEntry) => void): unknown;
}

export interface AuditSink {
  record(entry: AuditInput): void;
}

/** Verifies a proof and returns the identity it proves (the leaf's CN); throws when it does not verify. */
export type ProofVerifier = (proof: ProofRequest) => { identity: string };
