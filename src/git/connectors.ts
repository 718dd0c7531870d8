/**
 * Where `git-remote-ralph` gets its byte streams: a daemon reached over the overlay (the remotes config names
 * it), or, when RALPH_GIT_CONNECT_SOCKET names a Unix socket, that socket (a daemon's local socket on the same
 * machine, or a test server).
 */
import { dialUnix } from '../transport/unix.js';
import type { GitConnector } from './remote-helper.js';

/** The environment variable that points the helper at a Unix socket instead of a remote. */
export const CONNECT_SOCKET_ENV = 'RALPH_GIT_CONNECT_SOCKET';

/** Every connection goes to the Unix socket at `path`, whatever the remote's name. */
export function unixSocketConnector(path: string): GitConnector {
  return async () => ({ stream: await dialUnix(path) });
}
