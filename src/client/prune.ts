/** `ralph prune`: the only way rows leave the registry. */
import { rmSync } from 'node:fs';
import { ralphPaths, sessionDir, type RalphPaths } from '../config/paths.js';
import { Registry, type SessionRecord } from '../registry/index.js';

export interface PruneOptions {
  olderThanMs?: number | undefined;
  dryRun?: boolean | undefined;
  /** Also delete the sessions' output logs. */
  keepLogs?: boolean | undefined;
}

export function pruneSessions(options: PruneOptions = {}, paths: RalphPaths = ralphPaths()): SessionRecord[] {
  const registry = Registry.open(paths.registryFile);
  try {
    const pruned = registry.prune({
      ...(options.olderThanMs === undefined ? {} : { olderThanMs: options.olderThanMs }),
      dryRun: options.dryRun ?? false,
    });
    if (!options.dryRun && !options.keepLogs) {
      for (const s of pruned) {
        if (s.location === 'local') rmSync(sessionDir(paths, s), { recursive: true, force: true });
      }
    }
    return pruned;
  } finally {
    registry.close();
  }
}
