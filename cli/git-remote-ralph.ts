#!/usr/bin/env node
/**
 * `git-remote-ralph`: git runs it for `ralph::<remote>/<project>` addresses (gitremote-helpers(7)). A failure
 * is one line on stderr (git shows it as is) and a non-zero exit.
 */
import { isRalphError } from '../src/errors.js';
import { CONNECT_SOCKET_ENV, unixSocketConnector } from '../src/git/connectors.js';
import type { GitConnector } from '../src/git/remote-helper.js';
import { runRemoteHelper } from '../src/git/remote-helper.js';

async function connector(): Promise<GitConnector> {
  const socket = process.env[CONNECT_SOCKET_ENV];
  if (socket !== undefined && socket !== '') return unixSocketConnector(socket);
  const { daemonConnector } = await import('../src/git/daemon-connector.js');
  return daemonConnector();
}

// No top-level await (see cli/main.ts): the helper's chunks may import code placed in this entry module.
void connector()
  .then((connect) =>
    runRemoteHelper({
      args: process.argv.slice(2),
      stdin: process.stdin,
      stdout: process.stdout,
      connector: connect,
    }),
  )
  .catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    const hint = isRalphError(err) && err.hint !== undefined ? ` (${err.hint})` : '';
    process.stderr.write(`ralph: ${message}${hint}\n`);
    process.exitCode = isRalphError(err) ? Math.max(1, err.exitCode) : 1;
  })
  .finally(() => {
    // Whatever a connector left open (an overlay context closing slowly) must not keep git waiting for the
    // helper.
    setTimeout(() => process.exit(), 2000).unref();
  });
