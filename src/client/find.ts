/** Looks a task up in the registry the way every command does. */
import { RalphError, ExitCode } from '../errors.js';
import { isTerminal, type Registry, type SessionRecord } from '../registry/index.js';

export interface FindOptions {
  remote?: string | null;
  /** Refuse ended sessions (commands that need a live runner). */
  live?: boolean;
}

export function findSession(registry: Registry, task: string, options: FindOptions = {}): SessionRecord {
  const remote = options.remote ?? null;
  const session = registry.findActive(task, remote) ?? registry.latest(task, remote);
  if (!session) {
    const known = registry.list().map((s) => s.task);
    throw new RalphError('TASK_NOT_FOUND', `no loop named ${JSON.stringify(task)} in the registry`, {
      exitCode: ExitCode.notFound,
      hint:
        known.length > 0
          ? `known tasks: ${[...new Set(known)].join(', ')}`
          : 'start one with: ralph start <task-dir>',
    });
  }
  if (options.live && isTerminal(session.status)) {
    throw new RalphError('LOOP_ENDED', `loop ${task} has ended (${session.status}${reasonSuffix(session)})`, {
      exitCode: ExitCode.notFound,
    });
  }
  return session;
}

function reasonSuffix(session: SessionRecord): string {
  return session.exitReason ? `: ${session.exitReason}` : '';
}
