/**
 * Starting a link in the background, as a command that would have used one does when none answers: a
 * detached process of its own (its own session, no stdio held), never waited for. The link writes its own
 * diagnostics to `link.log` in its folder.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ralphVersion } from '../../../version.js';

/** The link's entry point, compiled next to this module. */
export const LINK_ENTRY = fileURLToPath(new URL('./entry.js', import.meta.url));

/**
 * Which build of ralph this is: its version and when the link's entry was compiled. A link of another build
 * (ralph upgraded or rebuilt while it ran) is asked to stop and replaced, so no command talks to old code.
 */
export function linkBuild(): string {
  const compiled = statSync(LINK_ENTRY, { throwIfNoEntry: false });
  return `${ralphVersion()}+${compiled === undefined ? 'source' : Math.trunc(compiled.mtimeMs)}`;
}

/**
 * Starts a link detached from this process with this process's environment (so the same RALPH_HOME and run
 * directory). False when there is no compiled entry to start (running from the sources) or the spawn failed.
 */
export function startLinkInBackground(env: NodeJS.ProcessEnv = process.env): boolean {
  if (statSync(LINK_ENTRY, { throwIfNoEntry: false }) === undefined) return false;
  try {
    const child = spawn(process.execPath, [LINK_ENTRY], { detached: true, stdio: 'ignore', env, cwd: '/' });
    child.once('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
