/**
 * Every code a `RalphError` can carry, in one table: what it means and the exit code a command ends with
 * when it is the reason (a call site may give another, e.g. a usage error where the same fault is the
 * user's input). Compare codes through this type (`isRalphError(err, 'LOOP_ENDED')`), never as free strings.
 * The codes that travel on the wire are the protocol's own table, src/protocol/errors.ts.
 */
import { ExitCode } from './exit-codes.js';

export interface LocalErrorSpec {
  exitCode: number;
  summary: string;
}

export const localErrors = {
  AGENT_MISSING: { exitCode: ExitCode.agentMissing, summary: 'the agent CLI is not installed' },
  AMBIGUOUS_TASK: {
    exitCode: ExitCode.usage,
    summary: 'a task name that several remotes (or this machine) share',
  },
  DAEMON_REFUSED: {
    exitCode: ExitCode.unavailable,
    summary: 'a remote daemon refused this identity or request',
  },
  DAEMON_UNREACHABLE: {
    exitCode: ExitCode.unavailable,
    summary: 'a remote daemon could not be reached or did not greet',
  },
  DIAL_FAILED: { exitCode: ExitCode.unavailable, summary: 'a connection could not be opened' },
  DIAL_TIMEOUT: { exitCode: ExitCode.timeout, summary: 'a connection was not answered in time' },
  DISK_FULL: { exitCode: ExitCode.failure, summary: 'the disk filled up while writing a loop file' },
  GIT_FAILED: { exitCode: ExitCode.failure, summary: 'a git command failed' },
  GIT_UNCOMMITTED: {
    exitCode: ExitCode.conflict,
    summary: 'the task folder has uncommitted changes (commit them, or --include-uncommitted)',
  },
  INVALID_AGENT_COMMAND: { exitCode: ExitCode.usage, summary: 'a custom agent command line is malformed' },
  INVALID_DAEMON_CONFIG: { exitCode: ExitCode.usage, summary: 'the daemon configuration file is not valid' },
  INVALID_DURATION: { exitCode: ExitCode.usage, summary: 'a duration is malformed or out of range' },
  INVALID_OPTION: { exitCode: ExitCode.usage, summary: 'a command-line option has a bad value' },
  INVALID_PRD: { exitCode: ExitCode.invalidTask, summary: '`prd.json` is not valid' },
  INVALID_PRUNE_AGE: { exitCode: ExitCode.usage, summary: '`prune --older-than` is out of range' },
  INVALID_REMOTE: {
    exitCode: ExitCode.usage,
    summary: 'a remote name, identity file or service is malformed',
  },
  INVALID_REMOTES_CONFIG: {
    exitCode: ExitCode.failure,
    summary: 'the remotes configuration file is not valid',
  },
  INVALID_SESSION: { exitCode: ExitCode.usage, summary: 'a registry row is malformed' },
  INVALID_TASK: { exitCode: ExitCode.invalidTask, summary: 'the task folder is missing or incomplete' },
  INVALID_TASK_NAME: { exitCode: ExitCode.usage, summary: 'a task name breaks the naming rules' },
  LISTEN_FAILED: { exitCode: ExitCode.failure, summary: 'a listener (socket, Ziti service) could not start' },
  LOOP_ENDED: { exitCode: ExitCode.failure, summary: 'the loop has ended' },
  NOT_A_TERMINAL: { exitCode: ExitCode.usage, summary: 'the command needs a terminal' },
  NOT_RUNNING: { exitCode: ExitCode.notFound, summary: 'no socket: the loop is not running' },
  NO_SUCH_ITERATION: { exitCode: ExitCode.notFound, summary: 'no iteration by that number' },
  NO_TRANSCRIPT: { exitCode: ExitCode.notFound, summary: 'the iteration ran in plain text mode' },
  OFFSET_OUT_OF_RANGE: { exitCode: ExitCode.failure, summary: 'a byte offset lies past the end of a log' },
  PRUNE_NON_TERMINAL: { exitCode: ExitCode.usage, summary: 'prune was asked to delete a live loop' },
  REGISTRY_BUSY: { exitCode: ExitCode.unavailable, summary: 'the registry stayed locked too long' },
  REGISTRY_CORRUPT: { exitCode: ExitCode.failure, summary: 'the registry file is damaged' },
  REGISTRY_TOO_NEW: { exitCode: ExitCode.unavailable, summary: 'the registry was written by a newer ralph' },
  REGISTRY_UNAVAILABLE: { exitCode: ExitCode.unavailable, summary: 'the registry cannot be opened' },
  REMOTE_EXISTS: { exitCode: ExitCode.conflict, summary: 'a remote by that name is already configured' },
  REMOTE_NOT_FOUND: { exitCode: ExitCode.notFound, summary: 'no remote by that name is configured' },
  SESSION_DIR_IN_USE: {
    exitCode: ExitCode.conflict,
    summary: "a session folder already holds a loop's files",
  },
  SESSION_NOT_FOUND: { exitCode: ExitCode.notFound, summary: 'no registry row by that id' },
  SESSION_TERMINAL: { exitCode: ExitCode.conflict, summary: 'the session has already ended' },
  SOCKET_ACCESS_DENIED: { exitCode: ExitCode.unavailable, summary: 'the socket belongs to another user' },
  SOCKET_IN_USE: { exitCode: ExitCode.conflict, summary: 'another process listens on the socket' },
  SOCKET_PATH_OCCUPIED: {
    exitCode: ExitCode.conflict,
    summary: 'a file that is not a socket sits at the path',
  },
  SOCKET_PATH_TOO_LONG: { exitCode: ExitCode.usage, summary: 'the socket path is over the system limit' },
  SOCKET_REFUSED: { exitCode: ExitCode.unavailable, summary: 'a stale socket: its process is gone' },
  START_FAILED: { exitCode: ExitCode.failure, summary: 'the runner failed before the loop started' },
  STOP_TIMEOUT: { exitCode: ExitCode.timeout, summary: 'the loop did not stop in time' },
  STORY_NOT_FOUND: { exitCode: ExitCode.notFound, summary: 'no story by that id in `prd.json`' },
  TASK_ACTIVE: { exitCode: ExitCode.conflict, summary: 'the task already has a live loop' },
  TASK_NOT_FOUND: { exitCode: ExitCode.notFound, summary: 'no loop by that name' },
  UNKNOWN_AGENT: { exitCode: ExitCode.usage, summary: 'no agent by that name' },
  UNSAFE_DIRECTORY: { exitCode: ExitCode.conflict, summary: 'a folder other users could control' },
  UNSUPPORTED_OPTION: { exitCode: ExitCode.usage, summary: 'the agent does not support that option' },
  UNSUPPORTED_TRANSPORT: {
    exitCode: ExitCode.unavailable,
    summary: 'a loop reached over a transport not built yet',
  },
  UNTRUSTED_SOCKET: { exitCode: ExitCode.conflict, summary: 'a socket other users could control' },
  WAIT_TIMEOUT: { exitCode: ExitCode.timeout, summary: '`ralph wait` gave up before the loops ended' },
} as const satisfies Record<string, LocalErrorSpec>;

export type LocalErrorCode = keyof typeof localErrors;

export function isLocalErrorCode(value: unknown): value is LocalErrorCode {
  return typeof value === 'string' && Object.hasOwn(localErrors, value);
}
