/**
 * Running a link as a process (`ralph link serve`, or the background entry): start it, stop it on SIGTERM,
 * SIGINT or SIGHUP, and resolve once it has stopped with why. Another link already answering is not a
 * failure: there is one per user, and that one serves.
 */
import { ralphPaths, type RalphPaths } from '../../../config/paths.js';
import { isRalphError } from '../../../errors.js';
import { linkIdleMs } from './paths.js';
import { startLink, type Link, type Logger } from './server.js';

export interface RunLinkOptions {
  paths?: RalphPaths;
  idleMs?: number;
  log: Logger;
}

/** 'already running' when another link answers on the socket; otherwise why this one stopped. */
export async function runLinkProcess(options: RunLinkOptions): Promise<string> {
  const paths = options.paths ?? ralphPaths();
  let link: Link | undefined;
  // A link of another build that was just asked to stop may hold the socket a moment longer.
  for (let attempt = 0; link === undefined; attempt++) {
    try {
      link = await startLink({
        paths,
        idleMs: options.idleMs ?? linkIdleMs(),
        log: options.log,
        validateResults: process.env.RALPH_CHECK_RESULTS === '1',
      });
    } catch (err) {
      if (!isRalphError(err, 'SOCKET_IN_USE')) throw err;
      if (attempt >= 2) return 'already running';
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  const running = link;
  const onSignal = (signal: string): void => void running.stop(`signal ${signal}`);
  for (const signal of signals) process.on(signal, onSignal);
  try {
    return await running.done;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}
