/**
 * The plain forms of `ralph status` (see fast-path.ts) as a bundle entry of their own, which the `ralph`
 * executable (ralph.ts) tries first for `ralph status …`. The full command line's bundle splits the status
 * code over a dozen chunks shared with other commands, and every module file costs its own resolution,
 * reading and linking (about half a millisecond each); bundled alone, the command typed most loads a few
 * files. Importing this module does nothing by itself: any other form of `status` goes on to main.ts.
 */
import { statusCommand } from './commands/status.js';
import { plainStatusArgs } from './fast-path.js';
import { runCli } from './run.js';
// What the command imports when it runs, imported here too: so the bundle places it in this entry's own file,
// rather than in chunks of its own loaded one after another.
import '../src/client/status.js';

/** Runs `argv` when it is a plain form of `ralph status` and returns true; false leaves it to main.ts. */
export function runPlainStatus(argv: readonly string[]): boolean {
  const args = plainStatusArgs(argv);
  if (args === undefined) return false;
  runCli(async () => {
    await statusCommand.handler(args);
  });
  return true;
}
