/**
 * `ralph tui`: the fleet view on the alternate screen. Attaching hands the terminal over: the app unmounts,
 * `ralph attach` runs in this process, and when it returns (detach, or the loop ended) the app comes back
 * where it was: same selection, filter and view.
 */
import { render } from 'ink';
import { Fleet, type FleetOptions } from '../src/client/fleet/index.js';
import { errorMessage } from '../src/errors.js';
import { App } from './App.js';
import type { Handoff } from './state/actions.js';
import type { Notice, UiMemory } from './state/types.js';

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[H';
const ALT_SCREEN_OFF = '\x1b[?1049l';

export interface TuiOptions extends FleetOptions {
  /**
   * Runs a handed-over attach on this terminal and resolves with its exit code. The caller supplies it (the
   * CLI passes its raw-terminal attach): the view itself never imports the CLI.
   */
  attach: (request: Handoff) => Promise<number>;
}

export async function runTui(options: TuiOptions): Promise<number> {
  const stdout = process.stdout;
  const fleet = new Fleet(options);
  const { attach } = options;
  const memory: Partial<UiMemory> = {};
  let notice: Notice | null = null;
  stdout.write(ALT_SCREEN_ON);
  try {
    for (;;) {
      let handoff: Handoff | null = null;
      const app = render(
        <App
          fleet={fleet}
          memory={memory}
          onHandoff={(request) => (handoff = request)}
          onMemory={(m) => Object.assign(memory, m)}
          {...(notice ? { notice } : {})}
        />,
        // Only the lines that changed are written: a clock tick or one loop's new line is a line or two, not
        // the whole screen, for the terminal to take in.
        { exitOnCtrlC: false, incrementalRendering: true },
      );
      await app.waitUntilExit();
      app.cleanup();
      const request = handoff as Handoff | null;
      if (!request) return 0;
      stdout.write(ALT_SCREEN_OFF);
      notice = await runAttach(attach, request);
      // Attach pauses stdin when it ends; a paused TTY stream never tells Ink's new listener it is readable.
      process.stdin.resume();
      stdout.write(ALT_SCREEN_ON);
    }
  } finally {
    stdout.write(ALT_SCREEN_OFF);
    fleet.close();
  }
}

async function runAttach(attach: (r: Handoff) => Promise<number>, request: Handoff): Promise<Notice> {
  try {
    const code = await attach(request);
    return { kind: 'info', text: `back from ${request.task} (attach exit code ${code})` };
  } catch (err) {
    return { kind: 'error', text: `attach to ${request.task} failed: ${errorMessage(err)}` };
  }
}
