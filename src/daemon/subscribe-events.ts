/**
 * `subscribe_events` on one connection: replays the journal after `since`, then streams new entries as
 * `loop_event` notifications. The answer goes out first (entries are sent on the next turn), and entries
 * appended meanwhile wait behind the replay, so none is lost or sent twice. A new call replaces the old one.
 */
import { createJSONRPCNotification } from 'json-rpc-2.0';
import type { RpcConnection } from '../protocol/index.js';
import { LOOP_EVENT_METHOD } from './methods.js';
import type { EventJournal, JournalEntry } from './trust-hooks.js';

const SLOT = 'daemon.events';

export function subscribeEvents(
  journal: EventJournal,
  conn: RpcConnection,
  since: number,
): { seq: number; replayed: number; truncated?: boolean } {
  const old = conn.data.get(SLOT) as ((e: JournalEntry) => void) | undefined;
  if (old !== undefined) journal.off('entry', old);
  const replay = journal.since(since);
  const seq = journal.lastSeq;
  const held: JournalEntry[] = [];
  let replaying = true;
  const send = (entry: JournalEntry): void => {
    conn.send(createJSONRPCNotification(LOOP_EVENT_METHOD, entry));
  };
  const live = (entry: JournalEntry): void => {
    if (entry.seq <= seq) return;
    if (replaying) held.push(entry);
    else send(entry);
  };
  journal.on('entry', live);
  conn.data.set(SLOT, live);
  conn.once('close', () => journal.off('entry', live));
  setImmediate(() => {
    for (const entry of replay) send(entry);
    for (const entry of held) send(entry);
    replaying = false;
  });
  const truncated = (replay as { truncated?: boolean }).truncated === true;
  return { seq, replayed: replay.length, ...(truncated ? { truncated } : {}) };
}
