/**
 * A remote loop's connection: its daemon is dialed with the identity and service its registry row names, and
 * the connection is handed over to the loop's runner (`open_loop`).
 */
import { ExitCode, RalphError } from '../../errors.js';
import type { RpcClient } from '../../protocol/index.js';
import type { SessionRecord } from '../../registry/index.js';
import { DaemonClient } from './daemon-client.js';
import type { Remote } from './remotes.js';

export interface OpenRemoteLoopOptions {
  timeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The remote a registry row was reached through. */
export function remoteOfSession(session: SessionRecord): Remote {
  if (session.identity === null || session.remoteName === null) {
    throw new RalphError(
      'INVALID_SESSION',
      `registry row ${session.id} (${session.task}) is a ziti row without an identity file or remote name`,
      { exitCode: ExitCode.failure },
    );
  }
  return { name: session.remoteName, identity: session.identity, service: session.address };
}

export async function openRemoteLoop(
  session: SessionRecord,
  options: OpenRemoteLoopOptions = {},
): Promise<RpcClient> {
  const daemon = await DaemonClient.open(remoteOfSession(session), {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: Math.max(options.timeoutMs, 5000) }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  try {
    const { rpc } = await daemon.openLoop(session.task);
    return rpc;
  } catch (err) {
    daemon.close();
    throw err;
  }
}
