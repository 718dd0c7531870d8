/**
 * Entry point of a detached runner process: `node runner-entry.js <launch.json>`. Its diagnostics go to
 * `runner.log` in the session folder; the loop's own output goes to the output log.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRalphError } from '../errors.js';
import { readLaunchFile, runLoopProcess } from './runner-main.js';
import { writeStartFailure } from './start-failure.js';
import { writeTerminationReport, type EndReport } from './termination-report.js';
import { exitOnCrash } from '../util/exit-on-crash.js';

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

exitOnCrash(log);

/** In a pod, how the loop ended goes to the container's termination message too (RALPH_TERMINATION_LOG). */
const reportEnd = (report: EndReport): void => {
  const failed = writeTerminationReport(process.env.RALPH_TERMINATION_LOG, report);
  if (failed !== null) log(`cannot write the termination message: ${failed.message}`);
};

log(`runner ${process.pid} starting loop ${launch.config.task} (session ${launch.sessionId})`);
// RALPH_CHECK_RESULTS=1 (set by the test suite) checks every RPC result against the method table.
const validateResults = process.env.RALPH_CHECK_RESULTS === '1';
// No top-level await (see cli/main.ts): the runner's chunks may import code placed in this entry module.
void runLoopProcess(launch, { log, validateResults }).then(
  (final) => {
    log(`loop ended: ${final.status} (${final.exitReason ?? 'no reason'})`);
    reportEnd({ status: final.status, exitReason: final.exitReason, iteration: final.iteration });
    process.exit(0);
  },
  (err: unknown) => {
    if (!isRalphError(err)) throw err;
    // A known failure (the socket path taken, say): `ralph start` reports it as its own error.
    log(`runner failed: ${err.message}`);
    writeStartFailure(launch.dir, err);
    reportEnd({ status: 'failed', exitReason: err.message, iteration: 0 });
    process.exit(err.exitCode);
  },
);
