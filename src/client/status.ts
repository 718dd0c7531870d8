/** `ralph status`: reconcile, then list. */
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { Registry, reconcile, type ReconcileReport, type SessionRecord } from '../registry/index.js';

export interface StatusOptions {
  task?: string | undefined;
  all?: boolean | undefined;
}

export interface StatusResult {
  sessions: SessionRecord[];
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
    return { sessions, reconciled };
  } finally {
    registry.close();
  }
}
