import type { Argv, CommandModule } from 'yargs';
import type { SessionRecord } from '../../src/registry/index.js';
import { checkTimeout } from '../../src/loop/limits.js';
import { loopEndExitCode } from '../exit-codes.js';
import { colorStatus, paint, parseDuration, printJson, println } from '../output.js';

interface WaitArgs {
  tasks: string[];
  timeout: string;
  json: boolean;
}

export const waitCommand: CommandModule<object, WaitArgs> = {
  command: 'wait <tasks..>',
  describe: 'Wait until the loops end; the exit code tells how (0 only when every one completed)',
  builder: (y: Argv) =>
    y
      .positional('tasks', { type: 'string', array: true, demandOption: true, describe: 'Task names' })
      .option('timeout', {
        type: 'string',
        default: '0',
        describe: 'Give up after this long, exit code 9 (0 = wait for ever)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the ended sessions as JSON' }),
  handler: async (args) => {
    const { waitForLoops } = await import('../../src/client/wait.js');
    const timeoutMs = checkTimeout(parseDuration(args.timeout, '--timeout'), '--timeout');
    const sessions = await waitForLoops({
      tasks: args.tasks,
      timeoutMs,
      onEnded: args.json ? undefined : (s) => println(endedLine(s)),
    });
    if (args.json) printJson(sessions);
    const first = sessions.find((s) => s.status !== 'completed');
    process.exitCode = first === undefined ? 0 : loopEndExitCode(first.status);
  },
};

function endedLine(s: SessionRecord): string {
  const reason = s.exitReason ? paint.dim(` (${s.exitReason})`) : '';
  return `${paint.bold(s.task)} ${colorStatus(s.status)}${reason}`;
}
