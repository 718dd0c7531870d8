import type { Argv, CommandModule } from 'yargs';
import { printJson, println } from '../output.js';

interface PeekArgs {
  task: string;
  json: boolean;
}

export const peekCommand: CommandModule<object, PeekArgs> = {
  command: 'peek <task>',
  describe: "Print a loop's screen as it looks now (rendered, no attach)",
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const { withLoop } = await import('../../src/client/session-call.js');
    const screen = await withLoop(args.task, (client) => client.request('peek'));
    if (args.json) return printJson(screen);
    const lines = [...screen.lines];
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    println(lines.join('\n'));
  },
};
