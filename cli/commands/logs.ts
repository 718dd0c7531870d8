import type { Argv, CommandModule } from 'yargs';
import { wholeNumber } from '../numbers.js';
import { paint, printJson, println, terminalOutput, useColor } from '../output.js';

interface LogsArgs {
  task: string;
  follow: boolean;
  iteration?: string;
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
      .option('iteration', { type: 'string', describe: 'Only this iteration (a number from 1)' })
      .option('transcript', {
        type: 'boolean',
        default: false,
        describe: "An iteration's transcript (messages, tool calls, results, usage); the last one by default",
      })
      .option('json', { type: 'boolean', default: false, describe: 'With --transcript: print JSON' }),
  handler: async (args) => {
    const iteration = args.iteration === undefined ? undefined : wholeNumber(args.iteration, '--iteration');
    if (args.transcript) {
      await printTranscript(args.task, iteration, args.json);
      return;
    }
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

async function printTranscript(task: string, iteration: number | undefined, json: boolean): Promise<void> {
  const { loopTranscript } = await import('../../src/client/transcript.js');
  const { renderEntries } = await import('../../src/loop/stream/index.js');
  const { describeUsage } = await import('../../src/loop/usage.js');
  const transcript = loopTranscript(task, iteration);
  if (json) {
    printJson(transcript);
    return;
  }
  const usage = transcript.usage ? ` · ${describeUsage(transcript.usage)}` : '';
  println(paint.bold(`iteration ${transcript.iteration} (${transcript.format})${usage}`));
  const text = renderEntries(transcript.entries).replace(/\r\n/g, '\n');
  // Colours only on a terminal that wants them (the rendering's own colours, all of them).
  // eslint-disable-next-line no-control-regex
  process.stdout.write(useColor() ? text : text.replace(/\x1b\[[0-9;]*m/g, ''));
}
