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
  const { runTui } = await loadIgnoringCi(() => import('../../tui/run.js'));
  const { attachTerminal } = await import('../attach-terminal.js');
  return runTui({
    attach: (request) => attachTerminal(request.task, { readOnly: false, interactive: request.interactive }),
  });
}

const CI_VARIABLES = ['CI', 'CONTINUOUS_INTEGRATION'] as const;

/**
 * Ink draws only a final frame when the environment says CI, a setting it reads once, when it is first
 * loaded. The view runs only on an interactive terminal, where it must draw as it goes whatever CI says, so
 * the variables are hidden while it loads and put back at once (loops started from the view still see them).
 */
async function loadIgnoringCi<T>(load: () => Promise<T>): Promise<T> {
  const saved = CI_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of CI_VARIABLES) delete process.env[name];
  try {
    return await load();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}
