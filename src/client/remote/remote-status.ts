/**
 * What each configured remote's daemon says about its loops, asked of every remote at once and bounded by one
 * timeout, and how that answer enters the local registry: as the `RemoteProbe` reconciliation takes (status
 * updates, `lost` for runs the daemon no longer knows, `unreachable` when it cannot be asked) and as new rows
 * for loops this machine has not seen (started from another laptop, or on the box itself).
 */
import type { RalphPaths } from '../../config/paths.js';
import { errorMessage, isRalphError } from '../../errors.js';
import {
  isTerminal,
  type Registry,
  type RemoteProbe,
  type SessionPatch,
  type SessionRecord,
} from '../../registry/index.js';
import { emptyReport, type ReconcileReport } from '../../registry/reconcile-common.js';
import { reconcileRemote } from '../../registry/reconcile-remote.js';
import type { LoopSummary } from './daemon-types.js';
import type { Remote } from './remotes.js';

export const DEFAULT_REMOTE_TIMEOUT_MS = 3000;

export interface RemoteAnswer {
  remote: Remote;
  /** The daemon's loops, or null when it could not be asked in time. */
  loops: LoopSummary[] | null;
  /** Why it could not be asked. */
  error: string | null;
  /** How long the answer (or the failure) took. */
  ms: number;
}

/** How one remote's loops are asked for, before `deadline` (a Date.now() time). */
export type LoopLister = (remote: Remote, deadline: number) => Promise<LoopSummary[]>;

/**
 * Asks every remote for `list_loops` at once. Each gets `timeoutMs` for the whole exchange (login, dial, greeting,
 * request); a remote that has not answered by then counts as unreachable and is not waited for. With `link`,
 * the remotes are asked through this user's link when one answers (and one is started for next time when none
 * does); a remote the link itself fails for is asked directly.
 */
export async function askRemotes(
  remotes: Remote[],
  timeoutMs = DEFAULT_REMOTE_TIMEOUT_MS,
  options: AskOptions = {},
): Promise<RemoteAnswer[]> {
  const since = options.since ?? Date.now();
  const direct = directLister(options.sessionCacheDir);
  const via =
    options.link === undefined || remotes.length === 0
      ? null
      : await (await import('./link/ask.js')).linkLister(options.link, direct);
  try {
    return await Promise.all(
      remotes.map((remote) => askRemote(remote, timeoutMs, since, via?.list ?? direct)),
    );
  } finally {
    via?.close();
  }
}

export interface AskOptions {
  /** Where the controller API session is kept between processes (see session-cache.ts). */
  sessionCacheDir?: string | undefined;
  /**
   * When the timeout started (Date.now()), if before this call: the caller's own preparation (loading the
   * Ziti code, say) then counts against it too. Default: now.
   */
  since?: number | undefined;
  /** Ask through the link of these paths (see link/server.ts); undefined: always directly. */
  link?: RalphPaths | undefined;
}

/** Asks over a connection of this process's own: Ziti context, dial, greeting, `list_loops`. */
export function directLister(sessionCacheDir: string | undefined): LoopLister {
  return async (remote, deadline) => {
    // Loaded here, so that a command answered through the link never loads the overlay code.
    const { DaemonClient } = await import('./daemon-client.js');
    // A few ms beyond the budget: the answer `askRemote` gives is the one given, and what is still under way
    // is cut off when the contexts close.
    const daemon = await DaemonClient.open(remote, {
      timeoutMs: Math.max(1, deadline - Date.now()) + 5,
      sessionCacheDir,
    });
    try {
      return (await daemon.listLoops(Math.max(1, deadline - Date.now()))).loops;
    } finally {
      daemon.close();
    }
  };
}

async function askRemote(
  remote: Remote,
  timeoutMs: number,
  since: number,
  list: LoopLister,
): Promise<RemoteAnswer> {
  const started = performance.now() - (Date.now() - since);
  const deadline = since + timeoutMs;
  const budget = Math.max(1, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), budget);
  });
  const work = list(remote, deadline);
  try {
    const loops = await Promise.race([work, late]);
    return { remote, loops, error: null, ms: performance.now() - started };
  } catch (err) {
    work.catch(() => undefined);
    const message = isRalphError(err) ? err.message : errorMessage(err);
    return { remote, loops: null, error: message, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a registry row and a daemon's summary are the same run of the task. */
export function sameRun(session: SessionRecord, loop: LoopSummary): boolean {
  if (session.task !== loop.task) return false;
  // A row whose start this machine has not learnt yet (`remote start-loop`) is the run while it is open.
  if (session.startedAt === null) return !isTerminal(session.status);
  return loop.started_at === null || session.startedAt === loop.started_at;
}

/** The registry fields a daemon's summary sets on a row. */
export function patchFromSummary(loop: LoopSummary, now: Date): SessionPatch {
  return {
    status: loop.status,
    iteration: loop.iteration,
    maxIterations: loop.max_iterations,
    agent: loop.agent,
    taskDir: loop.task_dir,
    branch: loop.branch,
    currentStory: loop.current_story,
    startedAt: loop.started_at,
    ...(loop.ended_at === null ? {} : { endedAt: loop.ended_at }),
    exitReason: loop.exit_reason,
    lastSeen: now.toISOString(),
  };
}

/**
 * The probe reconciliation asks about each remote's open rows: a patch for each row whose run the daemon still
 * lists, nothing for the others (reconciliation marks them `lost`), or 'unreachable'. A remote no longer in the
 * configuration cannot be asked: its rows are unreachable too.
 */
export function probeFromAnswers(
  answers: Promise<RemoteAnswer[]>,
  now: () => Date = () => new Date(),
): RemoteProbe {
  return async (remoteName, sessions) => {
    const answer = (await answers).find((a) => a.remote.name === remoteName);
    if (answer === undefined || answer.loops === null) return 'unreachable';
    const patches = new Map<number, Partial<SessionRecord>>();
    for (const session of sessions) {
      const loop = answer.loops.find((l) => sameRun(session, l));
      if (loop !== undefined) patches.set(session.id, patchFromSummary(loop, now()));
    }
    return patches;
  };
}

/** Rows added for loops a remote listed that the registry had no row for. */
export function addUnknownLoops(
  registry: Registry,
  answers: RemoteAnswer[],
  now = new Date(),
): SessionRecord[] {
  const added: SessionRecord[] = [];
  // One commit for every row added (see reconcileRemote).
  registry.transaction(() => addUnknown(registry, answers, now, added));
  return added;
}

function addUnknown(registry: Registry, answers: RemoteAnswer[], now: Date, added: SessionRecord[]): void {
  for (const { remote, loops } of answers) {
    if (loops === null) continue;
    for (const loop of loops) {
      const rows = registry.list({ task: loop.task, remoteName: remote.name, all: true });
      if (rows.some((row) => sameRun(row, loop))) continue;
      // A row still open for the task belongs to a run the daemon no longer lists; reconciliation has
      // settled it unless it changed meanwhile, and then the next pass adds this one.
      if (!isTerminal(loop.status) && rows.some((row) => !isTerminal(row.status))) continue;
      added.push(
        registry.create({
          task: loop.task,
          location: 'remote',
          transport: 'ziti',
          address: remote.service,
          identity: remote.identity,
          remoteName: remote.name,
          agent: loop.agent,
          taskDir: loop.task_dir,
          maxIterations: loop.max_iterations,
          ...patchFromSummary(loop, now),
        }),
      );
    }
  }
}

/**
 * Records one remote's list in the registry, as `ralph status` would for that remote alone: its open rows
 * updated (or `lost`), rows added for loops not seen before.
 */
export async function applyRemoteLoops(
  registry: Registry,
  remote: Remote,
  loops: LoopSummary[],
  now: () => Date = () => new Date(),
): Promise<{ report: ReconcileReport; added: SessionRecord[] }> {
  const answer: RemoteAnswer = { remote, loops, error: null, ms: 0 };
  const report = emptyReport();
  const open = registry.list({ all: true, remoteName: remote.name }).filter((s) => !isTerminal(s.status));
  await reconcileRemote(registry, open, probeFromAnswers(Promise.resolve([answer]), now), now, report);
  return { report, added: addUnknownLoops(registry, [answer], now()) };
}
