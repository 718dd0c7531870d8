/** `ralph status`: reconcile (local runners, and every configured remote at once), then list. */
import { join } from 'node:path';
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import type { Usage } from '../loop/usage.js';
import { sessionUsages } from './usage.js';
import {
  isTerminal,
  Registry,
  reconcile,
  type ReconcileReport,
  type SessionRecord,
} from '../registry/index.js';
import { parseTaskAddress } from './find.js';
import { loadRemotes } from './remote/remotes.js';
import { linkDisabled } from './remote/link/paths.js';

export interface StatusOptions {
  task?: string | undefined;
  all?: boolean | undefined;
  /** How long each remote may take to answer (default 3 s); remotes are asked in parallel. */
  remoteTimeoutMs?: number | undefined;
  /**
   * Ask the remotes through this user's link (default), starting one in the background when none answers;
   * false, or RALPH_NO_LINK=1 in the environment: always directly.
   */
  link?: boolean | undefined;
  /**
   * When the wait began (a Date.now() value), if before this call: the CLI passes its own start, so the whole
   * command, not only the asking, stays within the remotes' timeout. Default: now.
   */
  since?: number | undefined;
}

/** How one configured remote answered. */
export interface RemoteReport {
  name: string;
  reachable: boolean;
  /** Why it could not be reached. */
  error: string | null;
  ms: number;
  loops: number;
}

export interface StatusResult {
  /** Each with the tokens and cost its iterations reported so far (null: none, or a remote loop). */
  sessions: (SessionRecord & { usage: Usage | null })[];
  reconciled: ReconcileReport;
  remotes: RemoteReport[];
  /** Rows added for loops a remote listed that this machine had not seen. */
  added: SessionRecord[];
}

/** Where `ralph status` keeps controller API sessions between runs: a private folder in the runtime directory. */
export function zitiSessionCacheDir(paths: RalphPaths): string {
  return join(paths.runDir, 'ziti-sessions');
}

export async function loopStatus(
  options: StatusOptions = {},
  paths: RalphPaths = ralphPaths(),
): Promise<StatusResult> {
  const registry = Registry.open(paths.registryFile);
  try {
    const { reconciled, remotes, added } = await reconcileAll(registry, paths, options.remoteTimeoutMs, {
      link: options.link,
      since: options.since,
    });
    const address = options.task === undefined ? undefined : parseTaskAddress(options.task);
    const sessions = registry
      .list({
        ...(address === undefined ? {} : { task: address.task }),
        ...(options.all ? { all: true } : {}),
      })
      .filter((s) => address?.remote === undefined || s.remoteName === address.remote);
    const usages = sessionUsages(paths, sessions);
    return {
      // The records are this call's own: add the figure to each rather than copy every record.
      sessions: sessions.map((s, i) => Object.assign(s, { usage: usages[i] ?? null })),
      reconciled,
      remotes,
      added,
    };
  } finally {
    registry.close();
  }
}

/**
 * Local reconciliation and the remotes' answers run side by side; the remote code is loaded only when a remote is
 * configured or a remote row is open, so a laptop without remotes pays nothing for them, and the Ziti code only
 * when a remote is asked directly (not through the link).
 */
export async function reconcileAll(
  registry: Registry,
  paths: RalphPaths,
  remoteTimeoutMs?: number,
  options: { link?: boolean | undefined; since?: number | undefined } = {},
): Promise<Pick<StatusResult, 'reconciled' | 'remotes' | 'added'>> {
  // The remotes' timeout runs from here at the latest: loading the Ziti code counts against it.
  const since = Math.min(options.since ?? Date.now(), Date.now());
  const configured = loadRemotes(paths);
  const openRemoteRows = registry.list({ location: 'remote' }).some((s) => !isTerminal(s.status));
  if (configured.length === 0 && !openRemoteRows) {
    return { reconciled: await reconcile(registry), remotes: [], added: [] };
  }
  const remote = await import('./remote/remote-status.js');
  // The Ziti contexts stay open for what the caller does next; the CLI closes them as it ends.
  const useLink = options.link !== false && !linkDisabled();
  const answers = remote.askRemotes(configured, remoteTimeoutMs, {
    sessionCacheDir: zitiSessionCacheDir(paths),
    since,
    link: useLink ? paths : undefined,
  });
  const reconciled = await reconcile(registry, { remoteProbe: remote.probeFromAnswers(answers) });
  const settled = await answers;
  const added = remote.addUnknownLoops(registry, settled);
  return {
    reconciled,
    added,
    remotes: settled.map((a) => ({
      name: a.remote.name,
      reachable: a.loops !== null,
      error: a.error,
      ms: Math.round(a.ms),
      loops: a.loops?.length ?? 0,
    })),
  };
}
