/** Marking a loop nobody can account for any more: its row ends `lost`, with why. */
import { isTerminal, type Registry, type SessionRecord } from '../registry/index.js';

export function markLost(registry: Registry, session: SessionRecord, why: string): SessionRecord | undefined {
  const now = registry.get(session.id);
  if (now === undefined || isTerminal(now.status)) return undefined;
  return registry.update(session.id, { status: 'lost', exitReason: why });
}
