/** What a loop has used so far, read from its session folder (live or ended alike). */
import { join } from 'node:path';
import { sessionLogDir, type RalphPaths } from '../config/paths.js';
import { IterationLog } from '../loop/iteration-log.js';
import { sumUsage, type Usage } from '../loop/usage.js';
import type { SessionRecord } from '../registry/index.js';

/** The sum of a local session's iteration usage; null for remote sessions and loops that reported none. */
export function sessionUsage(paths: RalphPaths, session: SessionRecord): Usage | null {
  if (session.location !== 'local') return null;
  try {
    const records = IterationLog.read(join(sessionLogDir(paths, session), 'iterations.json'));
    return sumUsage(records.map((r) => r.usage));
  } catch {
    // A record file being replaced or cut short: no figures rather than no status.
    return null;
  }
}
