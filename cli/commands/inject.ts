import type { Argv, CommandModule } from 'yargs';
import { RalphError, ExitCode } from '../../src/errors.js';
import { MAX_INPUT_BYTES } from '../../src/protocol/schemas.js';
import { println } from '../output.js';

interface InjectArgs {
  task: string;
  text: string;
}

export const injectCommand: CommandModule<object, InjectArgs> = {
  command: 'inject <task> <text>',
  describe: "Add instructions to the next iteration's prompt (text, or - to read it from stdin)",
  builder: (y: Argv) =>
    y.positional('task', { type: 'string', demandOption: true }).positional('text', {
      type: 'string',
      demandOption: true,
      describe: `The instructions, 1 to ${MAX_INPUT_BYTES} bytes; - reads them from stdin`,
    }),
  handler: async (args) => {
    const text = checkText(readsStdin(args.text) ? await readStdin() : String(args.text));
    const { withLoop } = await import('../../src/client/session-call.js');
    await withLoop(args.task, (client) => client.request('inject_prompt', { prompt: text }));
    println(`queued for the next iteration of ${args.task}`);
  },
};

/** yargs reads a lone `-` as an empty string; the command line says which it was (no task name is `-`). */
function readsStdin(text: string): boolean {
  return text === '-' || (text === '' && process.argv.slice(2).includes('-'));
}

function checkText(text: string): string {
  if (text.trim() === '') {
    throw new RalphError('INVALID_OPTION', 'inject: the text is empty', {
      exitCode: ExitCode.usage,
      hint: 'give the instructions as an argument, or - to read them from stdin',
    });
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_INPUT_BYTES) {
    throw new RalphError(
      'INVALID_OPTION',
      `inject: the text is longer than ${MAX_INPUT_BYTES} bytes, the most one injection holds`,
      { exitCode: ExitCode.usage, hint: 'shorten it, or put the details in a file the agent can read' },
    );
  }
  return text;
}

/** Reads stdin to its end, stopping early once it is past the limit (the rest is never needed). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    total += buf.length;
    if (total > MAX_INPUT_BYTES + 4) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}
