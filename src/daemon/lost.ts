/**
 * Marking a loop nobody can account for any more. The registry's `lost` status is on its way; until it is
 * there, such a row ends `crashed` with a reason that says it was lost.
 */
import { isSessionStatus, isTerminal, type Registry, type SessionRecord } from '../registry/index.js';

export function markLost(registry: Registry, session: SessionRecord, why: string): SessionRecord | undefined {
  const now = registry.get(session.id);
  if (now === undefined || isTerminal(now.status)) return undefined;
  const lost = 'lost';
  if (isSessionStatus(lost)) return registry.update(session.id, { status: lost, exitReason: why });
  return registry.update(session.id, { status: 'crashed', exitReason: `lost: ${why}` });
}
