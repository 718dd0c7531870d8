/**
 * The helper's side of `git_connect`: one NDJSON request on a fresh connection, then its JSON-RPC answer
 * (notifications before it, such as a daemon's `hello`, are skipped). After a successful answer the connection
 * carries git's bytes; whatever arrived behind the answer line is already git's and is handed back.
 */
import type { Duplex } from 'node:stream';
import { RalphError } from '../errors.js';
import type { GitService } from './project.js';

export interface GitConnectParams {
  project: string;
  service: GitService;
}

export interface GitConnectResult {
  project: string;
  service: GitService;
  /** True when this push created the project's repository. */
  created?: boolean;
}

export interface HandshakeOptions {
  /** How long to wait for the answer; default 30 s. */
  timeoutMs?: number;
  /** Longest line read while waiting (a `hello`, the answer); default 64 KiB. */
  maxLineBytes?: number;
  /** Bytes already read from the stream that were not consumed (e.g. after a greeting). */
  pending?: Buffer[];
}

export interface HandshakeOutcome {
  result: GitConnectResult;
  /** Bytes received after the answer: the start of git's own conversation. */
  rest: Buffer;
}

/** A JSON-RPC error the server answered with; `code` is the wire code. */
export class GitConnectRefused extends Error {
  readonly rpcCode: number;
  readonly data: unknown;
  constructor(rpcCode: number, message: string, data: unknown) {
    super(message);
    this.name = 'GitConnectRefused';
    this.rpcCode = rpcCode;
    this.data = data;
  }
}

const REQUEST_ID = 1;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_LINE = 64 * 1024;

/**
 * Sends `git_connect {project, service}` on `stream` and waits for its answer. Rejects with GitConnectRefused
 * for an error answer, RalphError(DIAL_FAILED/DIAL_TIMEOUT) when the connection ends or stays silent. The
 * stream is left paused with no listeners of ours on it.
 */
export function requestGitConnect(
  stream: Duplex,
  params: GitConnectParams,
  options: HandshakeOptions = {},
): Promise<HandshakeOutcome> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE;
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      stream.pause();
    };
    const fail = (err: Error): void => {
      done();
      reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      buffered = Buffer.concat([buffered, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
      for (;;) {
        const nl = buffered.indexOf(0x0a);
        if (nl < 0) {
          if (buffered.length > maxLine) fail(protocolError(`a line over ${maxLine} bytes`));
          return;
        }
        const line = buffered.subarray(0, nl).toString('utf8');
        buffered = buffered.subarray(nl + 1);
        const answer = readAnswer(line);
        if (answer === 'skip') continue;
        if (answer instanceof Error) return fail(answer);
        done();
        resolve({ result: answer, rest: Buffer.from(buffered) });
        return;
      }
    };
    const onEnd = (): void =>
      fail(new RalphError('DIAL_FAILED', 'the connection closed before git_connect was answered'));
    const onError = (err: Error): void =>
      fail(new RalphError('DIAL_FAILED', `connection error: ${err.message}`, { cause: err }));
    const timer = setTimeout(
      () => fail(new RalphError('DIAL_TIMEOUT', `git_connect was not answered within ${timeoutMs} ms`)),
      timeoutMs,
    );
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    const request = { jsonrpc: '2.0', id: REQUEST_ID, method: 'git_connect', params };
    stream.write(`${JSON.stringify(request)}\n`);
    for (const chunk of options.pending ?? []) onData(chunk);
    stream.resume();
  });
}

interface RpcErrorShape {
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

/** The answer in `line`, 'skip' for a notification or blank line, or the error it carries. */
function readAnswer(line: string): GitConnectResult | GitConnectRefused | RalphError | 'skip' {
  if (line.trim() === '') return 'skip';
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return protocolError('a line that is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return protocolError('a message that is not an object');
  }
  const m = msg as { id?: unknown; method?: unknown; result?: unknown; error?: RpcErrorShape | null };
  if (m.id === undefined && typeof m.method === 'string') return 'skip';
  if (m.error !== undefined) {
    const e = m.error;
    const code = typeof e?.code === 'number' ? e.code : 0;
    const message = typeof e?.message === 'string' ? e.message : 'refused without a reason';
    return new GitConnectRefused(code, message, e?.data);
  }
  if (m.id !== REQUEST_ID) return protocolError(`an answer to request ${JSON.stringify(m.id)}`);
  const r = m.result as Partial<GitConnectResult> | null;
  if (typeof r !== 'object' || r === null) return protocolError('an answer without a result');
  return r as GitConnectResult;
}

function protocolError(what: string): RalphError {
  return new RalphError('DIAL_FAILED', `the server sent ${what} while git_connect was awaited`);
}
