/** What a loop has used so far, read from its session folder (live or ended alike). */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sessionLogDir, type RalphPaths } from '../config/paths.js';
import { IterationLog } from '../loop/iteration-log.js';
import { sumUsage, type Usage } from '../loop/usage.js';
import type { SessionRecord } from '../registry/index.js';

/** The sum of a local session's iteration usage; null for remote sessions and loops that reported none. */
export function sessionUsage(paths: RalphPaths, session: SessionRecord): Usage | null {
  return session.location === 'local' ? usageIn(sessionLogDir(paths, session)) : null;
}

/** The sum of the usage in a session folder's iteration records. */
function usageIn(dir: string): Usage | null {
  try {
    return sumUsage(IterationLog.read(join(dir, 'iterations.json')).map((r) => r.usage));
  } catch {
    // A record file being replaced or cut short: no figures rather than no status.
    return null;
  }
}

/**
 * The usage of many sessions at once, for listings. The loops folder is listed once, so a session with no
 * folder there (ended long ago and cleaned, or never started) costs no file system call; a session with one
 * has its record file read, as `sessionUsage` would. Null where `sessionUsage` gives null.
 */
export function sessionUsages(paths: RalphPaths, sessions: readonly SessionRecord[]): (Usage | null)[] {
  let folders: Set<string>;
  try {
    folders = new Set(readdirSync(paths.loopsDir));
  } catch {
    // No loops folder yet (or unreadable): nothing to read, as for each session alone.
    return sessions.map(() => null);
  }
  const listed = (dir: string): boolean => folders.has(basename(dir));
  return sessions.map((session) => {
    if (session.location !== 'local') return null;
    const dir = sessionLogDir(paths, session, listed);
    return listed(dir) ? usageIn(dir) : null;
  });
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
