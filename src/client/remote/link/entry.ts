/**
 * Entry point of a link started in the background: `node entry.js`, with the environment of the command that
 * started it. Its diagnostics go to `link.log` in the link's folder (kept under 1 MiB: a larger one is started
 * afresh).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { ralphPaths } from '../../../config/paths.js';
import { ensurePrivateDir } from '../../../config/private-dir.js';
import { errorMessage } from '../../../errors.js';
import { linkDir, linkLogFile } from './paths.js';
import { runLinkProcess } from './run.js';
import { exitOnCrash } from '../../../util/exit-on-crash.js';

const MAX_LOG_BYTES = 1024 * 1024;

const paths = ralphPaths();
ensurePrivateDir(linkDir(paths));
const fd = openSync(linkLogFile(paths), 'a', 0o600);
let written = fstatSync(fd).size;
if (written > MAX_LOG_BYTES) {
  ftruncateSync(fd, 0);
  written = 0;
}
const log = (msg: string, ctx?: object): void => {
  const error = (ctx as { error?: unknown } | undefined)?.error;
  const line = `${new Date().toISOString()} [${process.pid}] ${msg}${error === undefined ? '' : `: ${errorMessage(error)}`}\n`;
  if (written + line.length > MAX_LOG_BYTES) return;
  written += line.length;
  try {
    writeSync(fd, line);
  } catch {
    // A full disk must not take the link down through its own diagnostics.
  }
};

exitOnCrash(log);

try {
  const why = await runLinkProcess({ paths, log });
  log(`link ${process.pid} exiting: ${why}`);
  closeSync(fd);
  process.exit(0);
} catch (err) {
  log(`link ${process.pid} failed: ${errorMessage(err)}`);
  process.exit(1);
}
