/**
 * Command-line words yargs would misread. Everything after `--` is a plain value (a folder named `-dash`,
 * text starting with `-`), which yargs does not give to a command's positionals: such words are swapped for
 * placeholders before parsing and put back before the command runs. A word such as `-dash` before `--` is
 * refused with a clear error instead of being read as `-d -a -s -h` (and printing the help).
 */
import { RalphError, ExitCode } from '../src/errors.js';

/** Every one-letter option of every command. */
const SHORT_FLAGS = new Set(['h', 'n', 'a', 'f', 'i']);
const MARK = '\u0001ralph-arg-';

export interface PreparedArgv {
  argv: string[];
  /** Puts back the words that followed `--`, wherever yargs stored them. */
  restore: (args: Record<string, unknown>) => void;
}

export function prepareArgv(argv: string[]): PreparedArgv {
  const dashes = argv.indexOf('--');
  const options = dashes === -1 ? argv : argv.slice(0, dashes);
  const literal = dashes === -1 ? [] : argv.slice(dashes + 1);
  for (const word of options) checkShortCluster(word, argv[0]);
  const prepared = [...options, ...literal.map((word, i) => `${MARK}${i}`)];
  const original = (value: unknown): unknown =>
    typeof value === 'string' && value.startsWith(MARK) ? literal[Number(value.slice(MARK.length))] : value;
  return {
    argv: prepared,
    restore: (args) => {
      for (const [key, value] of Object.entries(args)) {
        args[key] = Array.isArray(value) ? value.map(original) : original(value);
      }
    },
  };
}

/** `-n5` and `-fi` are options; `-dash` is not, and yargs would find `-h` in it. */
function checkShortCluster(word: string, command: string | undefined): void {
  if (!/^-[^-\d]./.test(word)) return;
  const letters = word.slice(1);
  // A value glued to its option (`-n5`, `-aclaude`) starts with a known letter that takes one.
  if (letters[0] === 'n' || letters[0] === 'a') return;
  if ([...letters].every((c) => SHORT_FLAGS.has(c))) return;
  const example = `ralph ${command ?? '<command>'} -- ${word}`;
  throw new RalphError('INVALID_OPTION', `unknown option ${word}`, {
    exitCode: ExitCode.usage,
    hint: `a folder or text that starts with - goes after --, as in: ${example}`,
  });
}
