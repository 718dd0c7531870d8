/**
 * Opens a loop from its registry entry, whatever the transport. Everything above this module talks to an
 * `RpcClient` and never learns whether the bytes went over a Unix socket or the overlay.
 */
import { RpcClient } from '../protocol/index.js';
import type { SessionRecord } from '../registry/index.js';
import { dialUnix } from '../transport/index.js';
import { openRemoteLoop } from './remote/open-loop.js';

export interface ConnectOptions {
  timeoutMs?: number;
  requestTimeoutMs?: number;
}

export async function connectSession(
  session: SessionRecord,
  options: ConnectOptions = {},
): Promise<RpcClient> {
  if (session.transport === 'ziti') return openRemoteLoop(session, options);
  const socket = await dialUnix(session.address, { timeoutMs: options.timeoutMs ?? 3000 });
  return new RpcClient(socket, {
    ...(options.requestTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.requestTimeoutMs }),
  });
}
