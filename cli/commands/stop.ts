import type { Argv, CommandModule } from 'yargs';
import { colorStatus, printJson, println } from '../output.js';

interface StopArgs {
  task: string;
  force: boolean;
  wait: boolean;
  json: boolean;
}

export const stopCommand: CommandModule<object, StopArgs> = {
  command: 'stop <task>',
  describe: 'Stop a loop (SIGTERM to the agent, then SIGKILL after a grace period)',
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', demandOption: true })
      .option('force', { type: 'boolean', default: false, describe: 'Kill the agent at once' })
      .option('wait', { type: 'boolean', default: true, describe: 'Wait until the loop has ended' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the registry entry as JSON' }),
  handler: async (args) => {
    const { stopLoop } = await import('../../src/client/stop.js');
    const session = await stopLoop(args.task, { force: args.force, waitMs: args.wait ? 15_000 : 0 });
    if (args.json) printJson(session);
    else {
      // A crashed loop's reason says what happened to an agent it left running.
      const why = session.status === 'crashed' && session.exitReason ? ` (${session.exitReason})` : '';
      println(`${session.task}: ${colorStatus(session.status)}${why}`);
    }
  },
};
