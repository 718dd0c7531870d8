/** `ralph status`: reconcile, then list. */
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import type { Usage } from '../loop/usage.js';
import { sessionUsage } from './usage.js';
import { Registry, reconcile, type ReconcileReport, type SessionRecord } from '../registry/index.js';

export interface StatusOptions {
  task?: string | undefined;
  all?: boolean | undefined;
}

export interface StatusResult {
  /** Each with the tokens and cost its iterations reported so far (null: none, or a remote loop). */
  sessions: (SessionRecord & { usage: Usage | null })[];
  reconciled: ReconcileReport;
}

export async function loopStatus(
  options: StatusOptions = {},
  paths: RalphPaths = ralphPaths(),
): Promise<StatusResult> {
  const registry = Registry.open(paths.registryFile);
  try {
    const reconciled = await reconcile(registry);
    const sessions = registry.list({
      ...(options.task === undefined ? {} : { task: options.task }),
      ...(options.all ? { all: true } : {}),
    });
    return { sessions: sessions.map((s) => ({ ...s, usage: sessionUsage(paths, s) })), reconciled };
  } finally {
    registry.close();
  }
}
