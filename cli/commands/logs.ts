import type { Argv, CommandModule } from 'yargs';

interface LogsArgs {
  task: string;
  follow: boolean;
  iteration?: number;
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
      .option('iteration', { type: 'number', describe: 'Only this iteration' }),
  handler: async (args) => {
    const { readLogs } = await import('../../src/client/logs.js');
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      await readLogs(args.task, {
        follow: args.follow,
        iteration: args.iteration,
        write: (chunk) => process.stdout.write(chunk),
        signal: abort.signal,
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
