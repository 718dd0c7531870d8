/**
 * For a process that runs in the background with nobody watching its stderr (a loop's runner, the link): an
 * uncaught exception or unhandled rejection is written to its own log, then the process ends with exit code 70.
 */
export function exitOnCrash(log: (line: string) => void): void {
  process.on('uncaughtException', (err) => {
    log(`uncaught exception: ${err.stack ?? err.message}`);
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => {
    log(
      `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
    process.exit(70);
  });
}
