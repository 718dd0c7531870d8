/**
 * Registry errors a caller can act on. Each names the task or row involved in one line.
 */
import { ExitCode, RalphError } from '../errors.js';
import type { SessionRecord, SessionStatus } from './types.js';

function where(remoteName: string | null): string {
  return remoteName === null ? 'locally' : `on remote '${remoteName}'`;
}

export function taskActiveError(task: string, remoteName: string | null, active?: SessionRecord): RalphError {
  const who =
    active === undefined
      ? ''
      : ` (pid ${active.pid ?? 'unknown'}, status ${active.status}, session ${active.id})`;
  return new RalphError('TASK_ACTIVE', `task '${task}' is already active ${where(remoteName)}${who}`, {
    hint: 'stop the running loop first; a loop whose runner is gone is marked crashed when the registry is reconciled',
    exitCode: ExitCode.conflict,
    data: { task, remoteName, sessionId: active?.id ?? null, pid: active?.pid ?? null },
  });
}

export function sessionNotFoundError(id: number): RalphError {
  return new RalphError('SESSION_NOT_FOUND', `no registry session with id ${id}`, {
    exitCode: ExitCode.notFound,
    data: { id },
  });
}

export function terminalSessionError(record: SessionRecord, status: SessionStatus): RalphError {
  return new RalphError(
    'SESSION_TERMINAL',
    `session ${record.id} of task '${record.task}' is ${record.status} and cannot become ${status}`,
    {
      hint: 'start a new session for the task instead',
      exitCode: ExitCode.conflict,
      data: { id: record.id, from: record.status, to: status },
    },
  );
}

export function invalidSessionError(detail: string): RalphError {
  return new RalphError('INVALID_SESSION', `invalid registry session: ${detail}`, {
    exitCode: ExitCode.usage,
  });
}
