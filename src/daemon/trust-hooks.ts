/**
 * What the daemon needs from its trust pieces (proof of identity, audit log, event journal), as small
 * interfaces, with the simplest stand-ins: a journal kept in memory and an audit sink that keeps nothing.
 * The file-backed `Journal` (journal.ts) and `AuditLog` (audit.ts) fit these interfaces.
 */
import { EventEmitter } from 'node:events';
import { X509Certificate, createPublicKey, verify } from 'node:crypto';
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

/** The text a client signs: ties the proof to this daemon's service and this connection's nonce. */
export function proofText(service: string, nonce: string): string {
  return `ralph-daemon-auth/1\n${service}\n${nonce}`;
}

/**
 * The proof check the contract describes: the leaf (first certificate of the chain) was issued by one of the
 * CAs (directly or through the intermediates sent with it), is within its validity period, and its public key
 * verifies the signature of `proofText`. Throws with the reason otherwise.
 */
export const verifyCertificateProof: ProofVerifier = (proof) => {
  const chain = splitPem(proof.certificate).map((pem) => new X509Certificate(pem));
  const leaf = chain[0];
  if (leaf === undefined) throw new Error('no certificate in the proof');
  const now = Date.now();
  for (const cert of chain) {
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
      throw new Error(`certificate ${cert.subject} is outside its validity period`);
    }
  }
  const anchors = proof.ca.flatMap(splitPem).map((pem) => new X509Certificate(pem));
  if (!chainsTo(leaf, chain.slice(1), anchors, 0))
    throw new Error('the certificate is not issued by a trusted CA');
  const ok = verify(
    'sha256',
    Buffer.from(proofText(proof.service, proof.nonce)),
    createPublicKey(leaf.publicKey.export({ type: 'spki', format: 'pem' })),
    Buffer.from(proof.signature, 'base64'),
  );
  if (!ok) throw new Error('the signature does not verify');
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
  if (cn === undefined || cn === '') throw new Error('the certificate names no CN');
  return { identity: cn };
};

function chainsTo(
  cert: X509Certificate,
  intermediates: X509Certificate[],
  anchors: X509Certificate[],
  depth: number,
): boolean {
  if (depth > 8) return false;
  if (anchors.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return true;
  return intermediates.some(
    (mid) =>
      mid !== cert &&
      mid.ca &&
      cert.checkIssued(mid) &&
      cert.verify(mid.publicKey) &&
      chainsTo(mid, intermediates, anchors, depth + 1),
  );
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Keeps nothing: the stand-in until the audit log is given. */
export const NO_AUDIT: AuditSink = { record: () => undefined };

/** A journal kept in memory (lost on restart): the stand-in until the file-backed one is given. */
export class MemoryJournal extends EventEmitter<{ entry: [JournalEntry] }> implements EventJournal {
  private readonly entries: JournalEntry[] = [];
  private seq = 0;
  private readonly limit: number;

  constructor(limit = 10_000) {
    super();
    this.limit = limit;
  }

  get lastSeq(): number {
    return this.seq;
  }

  append(type: string, task: string | null, data: unknown): JournalEntry {
    this.seq += 1;
    const entry = { seq: this.seq, time: new Date().toISOString(), type, task, data };
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    this.emit('entry', entry);
    return entry;
  }

  since(seq: number): JournalEntry[] {
    const kept = this.entries.filter((e) => e.seq > seq);
    const oldest = this.entries[0]?.seq ?? this.seq + 1;
    return seq + 1 < oldest ? Object.assign(kept, { truncated: true }) : kept;
  }
}
