/**
 * Reconciling remote sessions. The registry does not know how to reach a remote; a `RemoteProbe` does (the
 * remote daemon client plugs in here). It is asked once per remote, with that remote's non-terminal sessions,
 * and answers either 'unreachable' or a patch for every session the remote knows (include `status`).
 */
import { errorMessage } from '../errors.js';
import { FIELDS } from './columns.js';
import type { ReconcileReport } from './reconcile-common.js';
import type { Registry } from './sessions.js';
import { isTerminal, type SessionPatch, type SessionRecord } from './types.js';
import { isoTime } from '../util/clock.js';

export type RemoteProbe = (
  remoteName: string,
  sessions: SessionRecord[],
) => Promise<Map<number, Partial<SessionRecord>> | 'unreachable'>;

/** Fields that identify a row; a remote's answer never rewrites them. */
const IDENTITY_FIELDS = ['id', 'createdAt', 'updatedAt', 'task', 'location', 'remoteName'] as const;

export async function reconcileRemote(
  registry: Registry,
  sessions: SessionRecord[],
  probe: RemoteProbe,
  now: () => Date,
  report: ReconcileReport,
): Promise<void> {
  const byRemote = new Map<string, SessionRecord[]>();
  for (const s of sessions) {
    if (s.remoteName === null) continue;
    const group = byRemote.get(s.remoteName) ?? [];
    group.push(s);
    byRemote.set(s.remoteName, group);
  }
  await Promise.all(
    [...byRemote].map(async ([remoteName, group]) => {
      let answer: Awaited<ReturnType<RemoteProbe>>;
      try {
        answer = await probe(remoteName, group);
      } catch (err) {
        report.errors.push({ remoteName, message: errorMessage(err) });
        return;
      }
      // One commit for the remote's whole answer: each row is still checked on its own (a savepoint each),
      // but a daemon listing 100 loops costs one write, not 100.
      registry.transaction(() => {
        const seen: { session: SessionRecord; at: string }[] = [];
        for (const session of group) {
          const at = onlySeen(session, answer);
          if (at === undefined) applyAnswer(registry, session, remoteName, answer, now, report);
          else seen.push({ session, at });
        }
        markSeen(registry, seen, report);
      });
    }),
  );
}

function applyAnswer(
  registry: Registry,
  session: SessionRecord,
  remoteName: string,
  answer: Map<number, Partial<SessionRecord>> | 'unreachable',
  now: () => Date,
  report: ReconcileReport,
): void {
  report.checked += 1;
  let patch: SessionPatch;
  if (answer === 'unreachable') {
    patch = { status: 'unreachable' };
  } else {
    const known = answer.get(session.id);
    patch =
      known === undefined
        ? { status: 'lost', exitReason: `remote '${remoteName}' has no record of this loop` }
        : { ...withoutIdentity(known), lastSeen: known.lastSeen ?? isoTime(now()) };
  }
  const updated = applyIfOpen(registry, session, patch, answer === 'unreachable');
  if (updated === undefined) return;
  if (updated.status === 'lost') report.lost.push(updated);
  else if (updated.status === 'unreachable') report.unreachable.push(updated);
  else if (!isTerminal(updated.status)) report.alive.push(updated);
}

/**
 * When the remote's answer for `session` changes none of its fields but `lastSeen`, that time; else undefined
 * (the row takes the whole patch, or is marked lost or unreachable).
 */
function onlySeen(
  session: SessionRecord,
  answer: Map<number, Partial<SessionRecord>> | 'unreachable',
): string | undefined {
  if (answer === 'unreachable') return undefined;
  const known = answer.get(session.id);
  if (known === undefined || known.lastSeen === undefined || known.lastSeen === null) return undefined;
  const patch = withoutIdentity(known) as Record<string, unknown>;
  const current = session as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(patch)) {
    if (field !== 'lastSeen' && value !== undefined && current[field] !== value) return undefined;
  }
  return known.lastSeen;
}

/** Rows the remote reports unchanged: `lastSeen` stamped on each still open, in one statement each. */
function markSeen(
  registry: Registry,
  seen: { session: SessionRecord; at: string }[],
  report: ReconcileReport,
): void {
  const stamped = registry.markSeen(seen.map(({ session, at }) => ({ id: session.id, at })));
  for (const { session, at } of seen) {
    report.checked += 1;
    if (stamped.has(session.id)) report.alive.push({ ...session, lastSeen: at });
  }
}

function withoutIdentity(patch: Partial<SessionRecord>): SessionPatch {
  const copy: Partial<SessionRecord> = { ...patch };
  for (const field of IDENTITY_FIELDS) delete copy[field];
  return copy;
}

/**
 * Applies `patch` only if the row is still non-terminal and, when `unchangedOnly`, untouched since it was
 * observed (every field equal): a row that moved on is judged afresh by the next pass, never overwritten.
 */
function applyIfOpen(
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
