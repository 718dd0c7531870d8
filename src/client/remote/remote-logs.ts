/**
 * `ralph logs` of a remote loop: its output log read from the runner over the overlay with `get_logs`, by
 * byte offset, as raw bytes. Only a running loop has a runner to ask; an ended one's log stays on its box.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, RalphError } from '../../errors.js';
import { MAX_LOG_CHUNK } from '../../protocol/methods/logs.js';
import type { RpcClient } from '../../protocol/index.js';
import { isTerminal, type SessionRecord } from '../../registry/index.js';
import { connectSession } from '../connect.js';
import { taskAddress } from '../find.js';

export interface RemoteLogsOptions {
  iteration?: number | undefined;
  follow?: boolean | undefined;
  write: (chunk: Buffer) => void;
  signal?: AbortSignal | undefined;
}

const FOLLOW_POLL_MS = 250;

export async function readRemoteLogs(
  session: SessionRecord,
  options: RemoteLogsOptions,
): Promise<SessionRecord> {
  if (isTerminal(session.status)) {
    throw new RalphError(
      'LOOP_ENDED',
      `loop ${taskAddress(session)} has ended (${session.status}); its log stays on ${session.remoteName ?? 'the remote'}`,
      { exitCode: ExitCode.notFound },
    );
  }
  const client = await connectSession(session, { requestTimeoutMs: 15_000 });
  try {
    let [from, to] = [0, Number.POSITIVE_INFINITY];
    if (options.iteration !== undefined)
      [from, to] = await iterationRange(client, session, options.iteration);
    let offset = from;
    for (;;) {
      offset = await copy(client, offset, to, options.write);
      if (!options.follow || offset >= to || options.signal?.aborted) return session;
      const status = await client.request('get_status');
      if (isTerminal(status.status)) {
        await copy(client, offset, to, options.write);
        return { ...session, status: status.status, exitReason: status.exit_reason };
      }
      await sleep(FOLLOW_POLL_MS);
    }
  } finally {
    client.close();
  }
}

/** Copies the log from `offset` up to `to` or its current end; returns where it stopped. */
async function copy(
  client: RpcClient,
  offset: number,
  to: number,
  write: (chunk: Buffer) => void,
): Promise<number> {
  for (;;) {
    const limit = Math.min(MAX_LOG_CHUNK, to - offset);
    if (limit <= 0) return offset;
    const chunk = await client.request('get_logs', { offset, limit, encoding: 'base64' });
    const bytes = Buffer.from(chunk.content, 'base64');
    if (bytes.length > 0) write(bytes);
    offset = chunk.next_offset;
    if (bytes.length === 0 || offset >= chunk.end_offset) return offset;
  }
}

async function iterationRange(
  client: RpcClient,
  session: SessionRecord,
  number: number,
): Promise<[number, number]> {
  const { iterations } = await client.request('get_iterations');
  const record = iterations.find((r) => r.number === number);
  if (record === undefined) {
    throw new RalphError('NO_SUCH_ITERATION', `loop ${taskAddress(session)} has no iteration ${number}`, {
      exitCode: ExitCode.notFound,
    });
  }
  return [record.start_offset, record.end_offset ?? Number.POSITIVE_INFINITY];
}
