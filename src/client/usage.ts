/** What a loop has used so far, read from its session folder (live or ended alike). */
import { statSync } from 'node:fs';
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

/**
 * Each session's usage, read again only when its iteration record file changed (size or modification time),
 * for views that list many loops on every change.
 */
export class UsageCache {
  private readonly known = new Map<number, { stamp: string; usage: Usage | null }>();

  constructor(private readonly paths: RalphPaths) {}

  of(session: SessionRecord): Usage | null {
    if (session.location !== 'local') return null;
    let stamp: string;
    try {
      const st = statSync(join(sessionLogDir(this.paths, session), 'iterations.json'));
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      this.known.delete(session.id);
      return null;
    }
    const hit = this.known.get(session.id);
    if (hit?.stamp === stamp) return hit.usage;
    const usage = sessionUsage(this.paths, session);
    this.known.set(session.id, { stamp, usage });
    return usage;
  }
}
