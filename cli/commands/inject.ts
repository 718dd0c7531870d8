import type { Argv, CommandModule } from 'yargs';
import { println } from '../output.js';

interface InjectArgs {
  task: string;
  text: string;
}

export const injectCommand: CommandModule<object, InjectArgs> = {
  command: 'inject <task> <text>',
  describe: "Add instructions to the next iteration's prompt",
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', demandOption: true })
      .positional('text', { type: 'string', demandOption: true }),
  handler: async (args) => {
    const { withLoop } = await import('../../src/client/session-call.js');
    await withLoop(args.task, (client) => client.request('inject_prompt', { prompt: args.text }));
    println(`queued for the next iteration of ${args.task}`);
  },
};
