/**
 * Reconciliation: compare what the registry says with what is running, and record the difference. Rows are
 * never deleted here; a dead local loop becomes `crashed` with a reason, a remote that cannot be reached makes
 * its loops `unreachable` (a status they leave once the remote answers again).
 */
import { loopsDirFor, sessionDir } from '../config/paths.js';
import { errorMessage } from '../errors.js';
import { settleCrashedSession } from '../loop/leftovers.js';
import { isAlive, processStartTime } from '../util/proc.js';
import { probeUnixSocket } from './probe.js';
import { reconcileRemote, type RemoteProbe } from './reconcile-remote.js';
import { emptyReport, type ReconcileReport } from './reconcile-common.js';
import type { Registry } from './sessions.js';
import { isTerminal, SESSION_STATUSES, type SessionRecord } from './types.js';
import { judgeLocal } from './verdict.js';
import { isoTime } from '../util/clock.js';

export type SocketProbe = (address: string, timeoutMs: number) => Promise<boolean>;
export type { RemoteProbe } from './reconcile-remote.js';
export type { ReconcileReport } from './reconcile-common.js';

export interface ReconcileOptions {
  /** Default: connect to the Unix socket at `address`. */
  probeSocket?: SocketProbe;
  /** Asked once per remote with that remote's non-terminal sessions; without it remote rows are left alone. */
  remoteProbe?: RemoteProbe;
  now?: () => Date;
  /** Default 1000 ms. */
  socketTimeoutMs?: number;
  /** How long a `starting` local session may go without answering on its socket; default 30 s. */
  startGraceMs?: number;
  /** The folder of a local session; default: under the `loops` folder beside the registry file. */
  sessionDir?: (session: SessionRecord) => string;
}

export const DEFAULT_SOCKET_TIMEOUT_MS = 1000;
export const DEFAULT_START_GRACE_MS = 30_000;

const OPEN_STATUSES = SESSION_STATUSES.filter((s) => !isTerminal(s));

export async function reconcile(
  registry: Registry,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const report = emptyReport();
  const open = registry.list({ all: true, status: OPEN_STATUSES });
  const local = open.filter((s) => s.location === 'local');
  const judged = await Promise.all(local.map((s) => judgeLocalSession(s, options)));
  // One write transaction for every verdict, and one statement for every crashed row: each row is still
  // written only if it is as it was read, but 50 stale rows cost one commit and one statement instead of 50.
  if (judged.length > 0) registry.transaction(() => record(registry, judged, options, report));
  if (options.remoteProbe !== undefined) {
    const remote = open.filter((s) => s.location === 'remote');
    await reconcileRemote(registry, remote, options.remoteProbe, options.now ?? (() => new Date()), report);
  }
  return report;
}

interface Judged {
  session: SessionRecord;
  verdict: ReturnType<typeof judgeLocal>;
}

async function judgeLocalSession(session: SessionRecord, options: ReconcileOptions): Promise<Judged> {
  const now = options.now ?? (() => new Date());
  const pid = session.pid;
  const alive = pid !== null && isAlive(pid);
  const observation = {
    pid,
    alive,
    recordedStartTime: session.pidStartTime,
    currentStartTime: alive ? processStartTime(pid) : null,
    address: session.address,
    status: session.status,
    ageMs: now().getTime() - Date.parse(session.updatedAt),
    startGraceMs: options.startGraceMs ?? DEFAULT_START_GRACE_MS,
  };
  let verdict = judgeLocal(observation);
  if (verdict.kind === 'probe') {
    const probe = options.probeSocket ?? probeUnixSocket;
    const answers = await probe(session.address, options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS);
    verdict = judgeLocal({ ...observation, socketAnswers: answers });
  }
  return { session, verdict };
}

function record(
  registry: Registry,
  judged: readonly Judged[],
  options: ReconcileOptions,
  report: ReconcileReport,
): void {
  const now = options.now ?? (() => new Date());
  const seen: { session: SessionRecord; at: string }[] = [];
  const crashed: { observed: SessionRecord; status: 'crashed'; exitReason: string }[] = [];
  for (const { session, verdict } of judged) {
    report.checked += 1;
    switch (verdict.kind) {
      case 'alive':
        seen.push({ session, at: isoTime(now()) });
        break;
      case 'crashed':
        crashed.push({ observed: session, status: 'crashed', exitReason: verdict.reason });
        break;
      case 'pending':
      case 'probe':
        report.pending.push(session);
        break;
    }
  }
  // Only `lastSeen` changes on a live row, and only while the row is open.
  const stamped = registry.markSeen(seen.map(({ session, at }) => ({ id: session.id, at })));
  for (const { session, at } of seen) {
    if (stamped.has(session.id)) report.alive.push({ ...session, lastSeen: at });
  }
  const dirOf =
    options.sessionDir ?? ((s: SessionRecord) => sessionDir({ loopsDir: loopsDirFor(registry.file) }, s));
  for (const updated of registry.endIfUnchanged(crashed)) {
    report.crashed.push(updated);
    settleFiles(registry, updated, dirOf(updated), now(), report);
  }
}

/**
 * A crashed session's folder: its open iteration record is closed as `crashed`, and an agent that outlived
 * the runner is named in the exit reason and the report (`ralph stop --force` ends it).
 */
function settleFiles(
  registry: Registry,
  session: SessionRecord,
  dir: string,
  at: Date,
  report: ReconcileReport,
): void {
  let survivor;
  try {
    survivor = settleCrashedSession(dir, at).survivor;
  } catch (err) {
    report.errors.push({ remoteName: '', message: `${dir}: ${errorMessage(err)}` });
    return;
  }
  if (survivor === null) return;
  const exitReason = `${session.exitReason ?? 'runner gone'}; its agent (pid ${survivor.pid}) is still running`;
  const updated = registry.update(session.id, { exitReason });
  report.crashed[report.crashed.indexOf(session)] = updated;
  report.survivors.push({ session: updated, pid: survivor.pid });
}
