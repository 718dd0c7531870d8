import type { Argv, CommandModule } from 'yargs';
import { RalphError, ExitCode } from '../../src/errors.js';
import type { AttachFrom } from '../../src/client/attach.js';

interface AttachArgs {
  task: string;
  'read-only': boolean;
  interactive: boolean;
  from: string;
}

export const attachCommand: CommandModule<object, AttachArgs> = {
  command: 'attach <task>',
  describe: "Show a loop's live terminal; Ctrl-] i takes the keyboard, Ctrl-] d detaches",
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', demandOption: true })
      .option('read-only', {
        type: 'boolean',
        default: false,
        describe: 'Watch only; never take the keyboard',
      })
      .option('interactive', {
        alias: 'i',
        type: 'boolean',
        default: false,
        describe: 'Take the keyboard at once',
      })
      .option('from', {
        type: 'string',
        default: 'iteration',
        describe: 'Replay from: iteration (current one), start, end, or a byte offset',
      }),
  handler: async (args) => {
    const { attachTerminal } = await import('../attach-terminal.js');
    process.exitCode = await attachTerminal(args.task, {
      readOnly: args['read-only'],
      interactive: args.interactive,
      from: parseFrom(args.from),
    });
  },
};

function parseFrom(text: string): AttachFrom {
  if (text === 'iteration' || text === 'start' || text === 'end') return text;
  if (/^\d+$/.test(text)) return Number(text);
  throw new RalphError(
    'INVALID_OPTION',
    `--from must be iteration, start, end or a byte offset, got ${text}`,
    {
      exitCode: ExitCode.usage,
    },
  );
}
