/**
 * `ralph status` without yargs. Loading, configuring and running yargs costs about a third of `status`'s
 * start-up (which is the command typed most), so the plainest forms — `status`, an optional task name, and
 * `--json` / `--all` each at most once — call the command's handler directly with the arguments yargs would
 * have given it. Anything else (other flags, `--json=false`, `--help`, a repeated flag, `--`) goes through
 * yargs as before, so its validation and messages are unchanged.
 */
import { statusCommand } from './commands/status.js';

type StatusArgs = Parameters<NonNullable<typeof statusCommand.handler>>[0];

const FLAGS = { '--json': 'json', '--all': 'all' } as const;

/** The status arguments when `argv` is one of the plain forms, or undefined. */
export function plainStatusArgs(argv: readonly string[]): StatusArgs | undefined {
  if (argv[0] !== 'status') return undefined;
  const args = { _: ['status'], $0: 'ralph', all: false, json: false } as StatusArgs;
  const seen = new Set<string>();
  for (const arg of argv.slice(1)) {
    if (seen.has(arg)) return undefined;
    seen.add(arg);
    if (arg === '--json' || arg === '--all') args[FLAGS[arg]] = true;
    else if (arg.startsWith('-') || arg === '' || args.task !== undefined) return undefined;
    else args.task = arg;
  }
  return args;
}

/** Runs `argv` here when it is a plain form; false when yargs has to parse it. */
export async function runWithoutYargs(argv: readonly string[]): Promise<boolean> {
  const args = plainStatusArgs(argv);
  if (args === undefined) return false;
  await statusCommand.handler(args);
  return true;
}
