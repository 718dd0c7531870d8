/**
 * Looks a task up in the registry the way every command does. A task is named `<task>` or `<remote>:<task>`
 * (`local:<task>` for this machine). A bare name works when one machine has a loop by that name, or when only one
 * of those that have is still running; otherwise the error lists the addresses to choose from.
 */
import { RalphError, ExitCode } from '../errors.js';
import { isTerminal, type Registry, type SessionRecord } from '../registry/index.js';

export interface FindOptions {
  remote?: string | null;
  /** Refuse ended sessions (commands that need a live runner). */
  live?: boolean;
}

export const LOCAL_PREFIX = 'local';

/** `vps1:feature` → remote vps1, task feature; `local:feature` and `feature` → this machine or unsaid. */
export function parseTaskAddress(address: string): { task: string; remote: string | null | undefined } {
  const colon = address.indexOf(':');
  if (colon <= 0) return { task: address, remote: undefined };
  const remote = address.slice(0, colon);
  return { task: address.slice(colon + 1), remote: remote === LOCAL_PREFIX ? null : remote };
}

/** How a session is addressed: `<remote>:<task>`, or the bare task for this machine. */
export function taskAddress(session: Pick<SessionRecord, 'task' | 'remoteName'>): string {
  return session.remoteName === null ? session.task : `${session.remoteName}:${session.task}`;
}

export function findSession(registry: Registry, address: string, options: FindOptions = {}): SessionRecord {
  const parsed = parseTaskAddress(address);
  const remote = options.remote !== undefined ? options.remote : parsed.remote;
  const session =
    remote === undefined ? pickUnique(registry, parsed.task) : newestOf(registry, parsed.task, remote);
  if (!session) {
    const known = registry.list().map(taskAddress);
    throw new RalphError('TASK_NOT_FOUND', `no loop named ${JSON.stringify(address)} in the registry`, {
      exitCode: ExitCode.notFound,
      hint:
        known.length > 0
          ? `known tasks: ${[...new Set(known)].join(', ')}`
          : 'start one with: ralph start <task-dir>',
    });
  }
  if (options.live && isTerminal(session.status)) {
    throw new RalphError(
      'LOOP_ENDED',
      `loop ${taskAddress(session)} has ended (${session.status}${reasonSuffix(session)})`,
      { exitCode: ExitCode.notFound },
    );
  }
  return session;
}

function newestOf(registry: Registry, task: string, remote: string | null): SessionRecord | undefined {
  return registry.findActive(task, remote) ?? registry.latest(task, remote);
}

/** The one loop of that name, or the one still running among several machines' loops of that name. */
function pickUnique(registry: Registry, task: string): SessionRecord | undefined {
  const candidates = registry.list({ task }).map((s) => newestOf(registry, s.task, s.remoteName) ?? s);
  if (candidates.length <= 1) return candidates[0];
  const running = candidates.filter((s) => !isTerminal(s.status));
  if (running.length === 1) return running[0];
  const names = candidates.map((s) => `${s.remoteName ?? LOCAL_PREFIX}:${s.task} (${s.status})`);
  throw new RalphError(
    'AMBIGUOUS_TASK',
    `${candidates.length} loops are named ${task}: ${names.join(', ')}`,
    { hint: `name one as <remote>:${task} (local:${task} for this machine)` },
  );
}

function reasonSuffix(session: SessionRecord): string {
  return session.exitReason ? `: ${session.exitReason}` : '';
}
