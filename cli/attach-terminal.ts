/**
 * Raw terminal passthrough for `ralph attach`: replay, live output, keystrokes while holding the keyboard,
 * resize following this terminal, and a command key (Ctrl-]) for detach and interactive mode.
 */
import { AttachSession, type AttachEnd, type AttachFrom } from '../src/client/attach.js';
import { readLogs } from '../src/client/logs.js';
import { isRalphError } from '../src/errors.js';
import { LoopExit, loopEndExitCode } from './exit-codes.js';
import { statusLine, terminalOutput } from './output.js';

export interface AttachTerminalOptions {
  readOnly: boolean;
  /** Take the keyboard (interactive mode) right away. */
  interactive?: boolean;
  from?: AttachFrom;
}

const COMMAND_KEY = 0x1d; // Ctrl-]

/** The key help; a read-only attach cannot take the keyboard, so it does not offer to. */
function keyHelp(readOnly: boolean): string {
  const keyboard = readOnly ? '' : ' · i take/release the keyboard';
  return statusLine(`Ctrl-] then: d detach${keyboard} · Ctrl-] send Ctrl-]`);
}

export interface AttachTerminalOptionsEnded {
  /** A loop that ended before attach could connect: show its output instead of failing. */
  showIfEnded?: boolean;
}

export async function attachTerminal(
  task: string,
  options: AttachTerminalOptions & AttachTerminalOptionsEnded,
): Promise<number> {
  let session: AttachSession;
  try {
    session = await AttachSession.open(task, { from: options.from ?? 'iteration' });
  } catch (err) {
    if (!(options.showIfEnded && isRalphError(err, 'LOOP_ENDED'))) throw err;
    return replayEnded(task);
  }
  const stdin = process.stdin;
  const stdout = process.stdout;
  const status = (text: string): void => {
    stdout.write(statusLine(text));
  };
  const output = terminalOutput();
  let interactive = false;
  /** Set once this client asked to detach: losing the keyboard then is expected, not news. */
  let detaching = false;
  let commandPending = false;
  let hinted = false;

  let toggling = false;
  const setInteractive = async (enabled: boolean): Promise<void> => {
    toggling = true;
    try {
      interactive = await session.setInteractive(enabled);
      status(
        interactive ? 'you have the keyboard (Ctrl-] i to give it back)' : 'keyboard released; watching',
      );
    } catch (err) {
      status(err instanceof Error ? err.message : String(err));
    } finally {
      toggling = false;
    }
  };

  // Text when something before us (the TUI's Ink) set an encoding on stdin; the command key is a byte.
  const onKeys = (chunk: Buffer | string): void => {
    const out: number[] = [];
    for (const byte of typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk) {
      if (commandPending) {
        commandPending = false;
        if (byte === 0x64 /* d */) {
          detaching = true;
          return void session.detach();
        }
        if (byte === 0x69 /* i */ && !options.readOnly) void setInteractive(!interactive);
        else if (byte === COMMAND_KEY) out.push(byte);
        else stdout.write(keyHelp(options.readOnly));
        continue;
      }
      if (byte === COMMAND_KEY) commandPending = true;
      else out.push(byte);
    }
    if (out.length === 0) return;
    if (!interactive) {
      if (!hinted)
        status(
          options.readOnly
            ? 'read-only: Ctrl-] d to detach'
            : 'watching: Ctrl-] i to take the keyboard, Ctrl-] d to detach',
        );
      hinted = true;
      return;
    }
    session.type(Buffer.from(out));
  };

  const onResize = (): void => {
    if (!options.readOnly && stdout.columns && stdout.rows) {
      session
        .resize(stdout.columns, stdout.rows)
        .catch((err: unknown) => status(`resize failed: ${String(err)}`));
    }
  };

  session.on('data', (chunk) => output.write(chunk));
  session.on('state', (change) => {
    // Keys go out without answers; the loop says so when this client no longer has the keyboard.
    if (change.interactive_mode === false && interactive && !toggling && !detaching) {
      interactive = false;
      status('the keyboard was released; watching');
    }
  });
  session.on('dropped', (reason) => {
    // Keys sent after the keyboard went away are already explained by the state change above.
    if (interactive && !toggling) status(`keys not sent: ${reason}`);
  });
  session.on('reconnecting', ({ attempt, delayMs, reason }) =>
    status(`connection lost (${reason}); reconnecting, attempt ${attempt} in ${delayMs} ms`),
  );
  session.on('reconnected', ({ offset }) => status(`reconnected; resuming at byte ${offset}`));
  const ended = new Promise<AttachEnd>((resolve) => session.once('end', resolve));
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKeys);
  stdin.resume();
  stdout.on('resize', onResize);
  onResize();
  if (options.interactive && !options.readOnly) await setInteractive(true);

  const end = await ended;
  output.end();
  stdin.off('data', onKeys);
  stdout.off('resize', onResize);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  switch (end.kind) {
    case 'detached':
      status(`detached from ${task}; the loop keeps running`);
      return LoopExit.detached;
    case 'ended':
      status(`loop ${end.status}${end.reason ? `: ${end.reason}` : ''}`);
      return loopEndExitCode(end.status);
    case 'lost':
      status(`connection lost: ${end.reason}`);
      return LoopExit.connectionLost;
  }
}

/** Prints the whole output of a loop that has already ended, and its end, as attach would have. */
async function replayEnded(task: string): Promise<number> {
  const output = terminalOutput();
  const ended = await readLogs(task, { write: output.write });
  output.end();
  process.stdout.write(statusLine(`loop ${ended.status}${ended.exitReason ? `: ${ended.exitReason}` : ''}`));
  return loopEndExitCode(ended.status);
}
