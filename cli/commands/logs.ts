import type { Argv, CommandModule } from 'yargs';
import { wholeNumber } from '../numbers.js';
import { terminalOutput } from '../output.js';

interface LogsArgs {
  task: string;
  follow: boolean;
  iteration?: string;
}

export const logsCommand: CommandModule<object, LogsArgs> = {
  command: 'logs <task>',
  describe: "Print a loop's raw terminal output (all of it, or one iteration)",
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', demandOption: true })
      .option('follow', {
        alias: 'f',
        type: 'boolean',
        default: false,
        describe: 'Keep printing until the loop ends',
      })
      .option('iteration', { type: 'string', describe: 'Only this iteration (a number from 1)' }),
  handler: async (args) => {
    const iteration = args.iteration === undefined ? undefined : wholeNumber(args.iteration, '--iteration');
    const { readLogs } = await import('../../src/client/logs.js');
    const output = terminalOutput();
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      await readLogs(args.task, {
        follow: args.follow,
        iteration,
        write: output.write,
        signal: abort.signal,
      });
    } finally {
      output.end();
      process.off('SIGINT', onSigint);
    }
  },
};
