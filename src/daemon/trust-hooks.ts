/**
 * What the daemon's router needs from its trust pieces (proof of identity, audit log, event journal), as small
 * interfaces: `verifyProofRequest` (auth.ts), `AuditLog` (audit.ts) and `Journal` (journal.ts) fit them, and
 * tests may give others.
 */
import type { Role } from './roles.js';

export interface JournalEntry {
  seq: number;
  time: string;
  type: string;
  task: string | null;
  data: unknown;
}

/** The event journal as the daemon uses it: append, replay after a seq, and new entries as they come. */
export interface EventJournal {
  append(type: string, task: string | null, data: unknown): JournalEntry;
  /** Entries after `seq`; a `truncated: true` property on the array says older ones were dropped. */
  since(seq: number): JournalEntry[];
  readonly lastSeq: number;
  on(event: 'entry', listener: (entry: JournalEntry) => void): unknown;
  off(event: 'entry', listener: (entry: JournalEntry) => void): unknown;
}

/** One audited request. Never params, never keys. */
export interface AuditEntry {
  identity: string | null;
  role: Role | null;
  transport: 'unix' | 'ziti';
  method: string;
  task: string | null;
  outcome: 'ok' | 'error';
  code?: number;
}

export interface AuditSink {
  record(entry: AuditEntry): void;
}

/** What a client sends to prove who it is, with what the daemon told it in `hello`. */
export interface ProofRequest {
  certificate: string;
  signature: string;
  service: string;
  nonce: string;
  /** The CA bundle of the daemon's own identity, one PEM each. */
  ca: readonly string[];
}

/** Verifies a proof and returns the identity it proves (the leaf's CN); throws when it does not verify. */
export type ProofVerifier = (proof: ProofRequest) => { identity: string };
