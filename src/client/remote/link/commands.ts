/** `ralph link start|status|stop`: see, start and end this user's link. */
import { ExitCode, RalphError } from '../../../errors.js';
import { isAlive } from '../../../util/proc.js';
import { ralphPaths, type RalphPaths } from '../../../config/paths.js';
import { LinkClient, type LinkHello } from './client.js';
import type { LinkResultOf } from './methods.js';
import { linkLogFile, linkSocketPath } from './paths.js';
import { startLinkInBackground } from './spawn.js';

export type LinkStatus =
  | { running: false; socket: string; why: string }
  | ({ running: true; build: string } & LinkResultOf<'link_status'>);

/** What the link says about itself, or why there is none to ask. */
export async function linkStatus(paths: RalphPaths = ralphPaths()): Promise<LinkStatus> {
  const found = await LinkClient.connect(paths, { anyBuild: true, helloTimeoutMs: 2000 });
  if (found.link === undefined) {
    if (found.unavailable === 'absent')
      return { running: false, socket: linkSocketPath(paths), why: found.detail };
    throw unavailable(found.detail);
  }
  try {
    return { running: true, build: found.link.hello.build, ...(await found.link.status()) };
  } finally {
    found.link.close();
  }
}

/** Asks the link to stop and waits (up to `waitMs`) until its process is gone. Null when none was running. */
export async function stopLink(
  paths: RalphPaths = ralphPaths(),
  waitMs = 5000,
): Promise<{ pid: number } | null> {
  const found = await LinkClient.connect(paths, { anyBuild: true, helloTimeoutMs: 2000 });
  if (found.link === undefined) {
    if (found.unavailable === 'absent') return null;
    throw unavailable(found.detail);
  }
  const { pid } = found.link.hello;
  try {
    await found.link.stop();
  } finally {
    found.link.close();
  }
  await waitUntil(() => !isAlive(pid), waitMs, `the link (pid ${pid}) did not exit within ${waitMs} ms`);
  return { pid };
}

/** Starts a link unless one runs, and waits (up to `waitMs`) until it greets. */
export async function ensureLinkRunning(
  paths: RalphPaths = ralphPaths(),
  waitMs = 5000,
): Promise<{ hello: LinkHello; started: boolean }> {
  let started = false;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = await LinkClient.connect(paths, { anyBuild: started, helloTimeoutMs: 500 });
    if (found.link !== undefined) {
      found.link.close();
      return { hello: found.link.hello, started };
    }
    if (found.unavailable === 'untrusted') throw unavailable(found.detail);
    if (!started && found.unavailable !== 'unresponsive') {
      if (!startLinkInBackground()) {
        throw new RalphError('LISTEN_FAILED', 'cannot start the link: its compiled entry point is missing');
      }
      started = true;
    }
    if (Date.now() > deadline) {
      throw new RalphError('DIAL_TIMEOUT', `the link did not answer within ${waitMs} ms: ${found.detail}`, {
        exitCode: ExitCode.timeout,
        hint: `see ${linkLogFile(paths)}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function unavailable(detail: string): RalphError {
  return new RalphError('DIAL_FAILED', `cannot use the link: ${detail}`, { exitCode: ExitCode.unavailable });
}

async function waitUntil(done: () => boolean, waitMs: number, message: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!done()) {
    if (Date.now() > deadline) throw new RalphError('DIAL_TIMEOUT', message, { exitCode: ExitCode.timeout });
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
