/**
 * The default liveness probe for a local runner: connect to its Unix socket and hang up.
 */
import { statSync } from 'node:fs';
import { connect } from 'node:net';

/** Connect errors that prove nobody is listening. Anything else (a timeout, a full backlog) is inconclusive. */
const REFUSED = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'ENOTDIR']);

/**
 * Resolves true when the socket accepts a connection, false when the connection is refused or the socket file
 * is missing. An inconclusive outcome (timeout, EAGAIN) also resolves true: the caller has already verified the
 * process by pid and start time, and a slow accept is not evidence of a crash.
 */
export function probeUnixSocket(path: string, timeoutMs: number): Promise<boolean> {
  // A path that is missing or is no socket cannot answer: said without a connection, and without loading
  // Node's networking code in a `ralph status` whose loops all ended (after a reboot, say).
  if (!isSocketFile(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ path });
    const finish = (answer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(!REFUSED.has(err.code ?? '')));
  });
}

function isSocketFile(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch (err) {
    // Anything but "no such file" (a folder we may not read, say) is left to the connection to tell.
    const code = (err as NodeJS.ErrnoException).code;
    return !(code === 'ENOENT' || code === 'ENOTDIR');
  }
}
