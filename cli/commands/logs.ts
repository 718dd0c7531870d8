import type { Argv, CommandModule } from 'yargs';
import { paint, printJson, println } from '../output.js';

interface LogsArgs {
  task: string;
  follow: boolean;
  iteration?: number;
  transcript: boolean;
  json: boolean;
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
      .option('iteration', { type: 'number', describe: 'Only this iteration' })
      .option('transcript', {
        type: 'boolean',
        default: false,
        describe: "An iteration's transcript (messages, tool calls, results, usage); the last one by default",
      })
      .option('json', { type: 'boolean', default: false, describe: 'With --transcript: print JSON' }),
  handler: async (args) => {
    if (args.transcript) {
      await printTranscript(args);
      return;
    }
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

async function printTranscript(args: LogsArgs): Promise<void> {
  const { loopTranscript } = await import('../../src/client/transcript.js');
  const { renderEntries } = await import('../../src/loop/stream/index.js');
  const { describeUsage } = await import('../../src/loop/usage.js');
  const transcript = loopTranscript(args.task, args.iteration);
  if (args.json) {
    printJson(transcript);
    return;
  }
  const usage = transcript.usage ? ` · ${describeUsage(transcript.usage)}` : '';
  println(paint.bold(`iteration ${transcript.iteration} (${transcript.format})${usage}`));
  const text = renderEntries(transcript.entries).replace(/\r\n/g, '\n');
  // eslint-disable-next-line no-control-regex
  process.stdout.write(process.stdout.isTTY ? text : text.replace(/\x1b\[[0-9;]*m/g, ''));
}
