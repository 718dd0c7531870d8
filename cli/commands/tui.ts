import type { CommandModule } from 'yargs';
import { RalphError, ExitCode } from '../../src/errors.js';

export const tuiCommand: CommandModule = {
  command: 'tui',
  describe: 'Full-screen view of every loop, local and remote: watch, steer and attach (also: plain `ralph`)',
  handler: async () => {
    process.exitCode = await openTui();
  },
};

/** Runs the fleet view; it needs a terminal on both ends. */
export async function openTui(): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new RalphError('NOT_A_TERMINAL', 'ralph tui needs an interactive terminal', {
      exitCode: ExitCode.usage,
      hint: 'for scripts use: ralph status --json',
    });
  }
  const { runTui } = await import('../../tui/run.js');
  return runTui();
}
