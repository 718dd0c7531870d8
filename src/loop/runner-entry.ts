/**
 * Entry point of a detached runner process: `node runner-entry.js <launch.json>`. Its diagnostics go to
 * `runner.log` in the session folder; the loop's own output goes to the output log.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRalphError } from '../errors.js';
import { awaitFile, awaitSettings } from './await-file.js';
import { readLaunchFile, runLoopProcess } from './runner-main.js';
import { writeStartFailure } from './start-failure.js';
import { writeTerminationReport, type EndReport } from './termination-report.js';
import { exitOnCrash } from '../util/exit-on-crash.js';
import { isoTime } from '../util/clock.js';

const launchFile = process.argv[2];
if (!launchFile) {
  process.stderr.write('usage: runner-entry <launch.json>\n');
  process.exit(2);
}
const launch = readLaunchFile(launchFile);
const logFile = join(launch.dir, 'runner.log');
const log = (line: string): void => {
  try {
    appendFileSync(logFile, `${isoTime()} ${line}\n`);
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

// RALPH_CHECK_RESULTS=1 (set by the test suite) checks every RPC result against the method table.
const validateResults = process.env.RALPH_CHECK_RESULTS === '1';

const run = (): void => {
  log(`runner ${process.pid} starting loop ${launch.config.task} (session ${launch.sessionId})`);
  void runLoopProcess(launch, { log, validateResults }).then(
    (final) => {
      log(`loop ended: ${final.status} (${final.exitReason ?? 'no reason'})`);
      const end = (): never => {
        reportEnd({ status: final.status, exitReason: final.exitReason, iteration: final.iteration });
        process.exit(0);
      };
      const hold = awaitSettings(process.env, 'HOLD');
      if (hold === null) end();
      // Whoever takes the results reads how the loop ended here, socket or no socket.
      const failed = writeTerminationReport(process.env.RALPH_END_FILE, {
        status: final.status,
        exitReason: final.exitReason,
        iteration: final.iteration,
      });
      if (failed !== null) log(`cannot write the end file: ${failed.message}`);
      // A pod being deleted meanwhile ends the wait: the loop's end is reported all the same.
      process.once('SIGTERM', end);
      void awaitFile(hold!.file, hold!.timeoutMs).then((released) => {
        if (!released) log(`nobody took the loop's results within ${hold!.timeoutMs} ms; exiting`);
        end();
      });
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
};

// No top-level await (see cli/main.ts): the runner's chunks may import code placed in this entry module.
const wait = awaitSettings(process.env);
if (wait === null) run();
else {
  void awaitFile(wait.file, wait.timeoutMs).then((arrived) => {
    if (arrived) {
      run();
      return;
    }
    const why = `the loop's files did not arrive within ${Math.round(wait.timeoutMs / 1000)} s (no ${wait.file})`;
    process.stderr.write(`${why}\n`);
    reportEnd({ status: 'failed', exitReason: why, iteration: 0 });
    process.exit(0);
  });
}
