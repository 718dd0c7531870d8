/**
 * Entry point of a detached runner process: `node runner-entry.js <launch.json>`. Its diagnostics go to
 * `runner.log` in the session folder; the loop's own output goes to the output log.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRalphError } from '../errors.js';
import { readLaunchFile, runLoopProcess } from './runner-main.js';
import { writeStartFailure } from './start-failure.js';

const launchFile = process.argv[2];
if (!launchFile) {
  process.stderr.write('usage: runner-entry <launch.json>\n');
  process.exit(2);
}
const launch = readLaunchFile(launchFile);
const logFile = join(launch.dir, 'runner.log');
const log = (line: string): void => {
  try {
    appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  } catch {
    // A full disk must not take the runner down through its own diagnostics; the loop records its end.
  }
};

process.on('uncaughtException', (err) => {
  log(`uncaught exception: ${err.stack ?? err.message}`);
  process.exit(70);
});
process.on('unhandledRejection', (reason) => {
  log(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  process.exit(70);
});

log(`runner ${process.pid} starting loop ${launch.config.task} (session ${launch.sessionId})`);
const final = await runLoopProcess(launch, { log }).catch((err: unknown) => {
  if (!isRalphError(err)) throw err;
  // A known failure (the socket path taken, say): `ralph start` reports it as its own error.
  log(`runner failed: ${err.message}`);
  writeStartFailure(launch.dir, err);
  process.exit(err.exitCode);
});
log(`loop ended: ${final.status} (${final.exitReason ?? 'no reason'})`);
process.exit(0);
