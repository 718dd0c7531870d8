/**
 * Every error code the protocol uses, in one table. Codes from -32768 to -32000 belong to JSON-RPC itself
 * (the daemon uses ralph-uv's -32001 to -32007 from its server-error range); application codes start at 1000. Codes 1100 and up are raised by the client library on its own side and
 * never travel on the wire.
 */

export interface ErrorCodeSpec {
  code: number;
  summary: string;
  /** Shape of `error.data`, for the docs; absent when the error carries none. */
  data?: string;
}

export const errorCodes = {
  PARSE_ERROR: { code: -32700, summary: 'The line is not valid JSON. The response has `id: null`.' },
  INVALID_REQUEST: {
    code: -32600,
    summary:
      'Valid JSON but not a JSON-RPC 2.0 request object (missing `jsonrpc: "2.0"`, `method` not a string, bad `id`).',
  },
  LINE_TOO_LONG: {
    code: -32600,
    summary:
      'The line exceeded the size limit; it was discarded up to its `\\n` and the connection keeps serving.',
    data: '{ limit: number }',
  },
  NESTED_TOO_DEEP: {
    code: -32600,
    summary:
      'The message nests arrays and objects deeper than the limit; it was refused unparsed and the connection keeps serving.',
    data: '{ limit: number }',
  },
  METHOD_NOT_FOUND: { code: -32601, summary: 'No such method here; the message names it.' },
  INVALID_PARAMS: {
    code: -32602,
    summary: 'Params failed validation; the message names the field path and what was expected.',
    data: '{ issues: { path: string; message: string }[] }',
  },
  INTERNAL_ERROR: {
    code: -32603,
    summary: 'The server failed while handling the request; the message says why.',
  },
  AGENT_NOT_FOUND: {
    code: -32001,
    summary:
      'Daemon: the requested agent is unknown, or its CLI is not installed on the box and was not installed ' +
      '(`no_install`, or its install failed).',
    data: '{ agent: string; available?: string[]; package?: string | null; install_output?: string[] }',
  },
  MAX_LOOPS_EXCEEDED: {
    code: -32002,
    summary: 'Daemon: as many loops are running as the daemon allows (`maxLoops`).',
    data: '{ max_loops: number; active: number }',
  },
  LOOP_NOT_FOUND: {
    code: -32003,
    summary: "Daemon: no loop with that task name in the box's registry.",
    data: '{ task: string }',
  },
  GIT_ERROR: {
    code: -32004,
    summary:
      "Daemon `start_loop`: a git step on the box failed (adding the worktree); the message has git's words.",
  },
  BRANCH_NOT_FOUND: {
    code: -32006,
    summary:
      'Daemon `start_loop`: the project has no such branch: push it first (`ralph start --remote` does).',
    data: '{ project: string; branch: string }',
  },
  DISK_FULL: {
    code: -32007,
    summary: 'Daemon: the box ran out of disk space while preparing the loop.',
  },
  LEASE_HELD: {
    code: 1001,
    summary: 'Another client holds the writer lease.',
    data: '{ holder: string }',
  },
  INVALID_STATE: {
    code: 1002,
    summary: 'The loop is not in a state that allows this (e.g. `resume` while running).',
    data: '{ status: string }',
  },
  OFFSET_OUT_OF_RANGE: {
    code: 1003,
    summary: 'A byte offset lies past the end of the output log.',
    data: '{ offset: number; end_offset: number }',
  },
  LOOP_ENDED: { code: 1004, summary: 'The loop has finished; only read-only methods still work.' },
  TASK_NOT_FOUND: { code: 1005, summary: 'No loop with that task name.', data: '{ task: string }' },
  TASK_EXISTS: {
    code: 1006,
    summary: 'A loop with that task name is already running.',
    data: '{ task: string }',
  },
  AGENT_MISSING: {
    code: 1007,
    summary: 'The requested agent CLI is not installed.',
    data: '{ agent: string; installed: string[] }',
  },
  SLOW_CONSUMER: {
    code: 1008,
    summary:
      'The client read too slowly and its outgoing queue overflowed. The server logs it and drops the ' +
      'connection; the client sees the connection close.',
    data: '{ queued_bytes: number; limit: number }',
  },
  NOT_ATTACHED: { code: 1009, summary: 'The method needs `attach` first on this connection.' },
  TOO_MANY_CONNECTIONS: {
    code: 1010,
    summary: 'The server refuses more connections.',
    data: '{ limit: number }',
  },
  INVALID_TASK: {
    code: 1011,
    summary:
      "The task folder's prd.json cannot be read or parsed; the message names the file and the problem.",
  },
  NO_SUCH_ITERATION: {
    code: 1012,
    summary: 'The loop has no iteration with that number.',
    data: '{ iteration: number; last: number }',
  },
  UNAUTHENTICATED: {
    code: 1013,
    summary:
      'Daemon: the caller has not proved who it is (`authenticate` first), or the proof failed; a failed proof closes the connection.',
  },
  FORBIDDEN: {
    code: 1014,
    summary: "Daemon and restricted runner connections: the caller's role does not allow this method.",
    data: '{ role: string | null; method: string }',
  },
  PROJECT_NOT_FOUND: {
    code: 1020,
    summary: 'Daemon `git_connect`: no repository for that project yet (push to it first).',
    data: '{ project: string }',
  },
  BRANCH_IN_USE: {
    code: 1021,
    summary: 'Daemon `start_loop`: a loop that has not ended already works on that branch.',
    data: '{ branch: string; task: string }',
  },
  REMOTE_FAILED: {
    code: 1030,
    summary:
      "Link `daemon_call`: the remote's daemon could not be asked in time (or refused); the message says why, " +
      'as `ralph status` prints it.',
    data: '{ remote: string; code: number | null }',
  },
  CONNECTION_CLOSED: {
    code: 1100,
    summary: 'Client side: the connection closed before the response arrived; the message gives the reason.',
  },
  REQUEST_TIMEOUT: {
    code: 1101,
    summary: 'Client side: no response within the timeout.',
    data: '{ method: string; timeout_ms: number }',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorName = keyof typeof errorCodes;

/** Numeric codes by name, for code that compares codes. */
export const ErrorCode = Object.fromEntries(
  Object.entries(errorCodes).map(([name, spec]) => [name, spec.code]),
) as { readonly [N in ErrorName]: (typeof errorCodes)[N]['code'] };

/** The name of a code (the first name in table order for a shared code such as -32600). */
export function errorName(code: number): ErrorName | undefined {
  for (const [name, spec] of Object.entries(errorCodes)) {
    if (spec.code === code) return name as ErrorName;
  }
  return undefined;
}

/**
 * The error a handler throws to answer with a JSON-RPC error, and the error the client rejects with.
 * `kind` is the symbolic name (`LEASE_HELD`), or `RPC_<code>` for a code not in the table.
 */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  readonly kind: string;

  constructor(code: number, message: string, data?: unknown, kind?: ErrorName) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
    this.kind = kind ?? errorName(code) ?? `RPC_${code}`;
  }

  /** Builds an error from the table by name. */
  static of(name: ErrorName, message: string, data?: unknown): RpcError {
    return new RpcError(errorCodes[name].code, message, data, name);
  }

  /** The JSON-RPC error object. */
  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export function isRpcError(err: unknown): err is RpcError {
  return err instanceof RpcError;
}
