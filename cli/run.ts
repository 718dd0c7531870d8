/**
 * What every `ralph` process does around its command: listings straight to fd 1, a reader that went away
 * ending the output quietly, and the one top-level catch that turns an error into a line and an exit code.
 * Shared by the full command line (main.ts) and the entry of plain `ralph status` (status-entry.ts).
 */
import { closeZitiContexts } from '../src/client/remote/contexts.js';
import { isRalphError, ExitCode } from '../src/errors.js';
import { rpcErrorExitCode } from '../src/exit-codes.js';
import { RpcError } from '../src/protocol/errors.js';
import { paint, writeStdoutDirectly } from './output.js';

/** Runs `command` as this process's command: output set up first, errors reported, exit code set. */
export function runCli(command: () => Promise<void>): void {
  setUpOutput();
  void command().finally(closeZitiContexts).catch(report);
}

function setUpOutput(): void {
  // Listings go to fd 1 without building process.stdout (cli/output.ts).
  writeStdoutDirectly();

  // A reader that went away (`ralph start … | head -1`) ends the output, not the command with a stack trace.
  // Installed as each stream is first made, not here: making them loads Node's stream code, which a command
  // that prints through `writeStdout` (output.ts) never needs.
  for (const name of ['stdout', 'stderr'] as const) {
    const made = Object.getOwnPropertyDescriptor(process, name);
    const make = made?.configurable === true ? made.get?.bind(process) : undefined;
    if (make === undefined) {
      guardPipe(process[name]);
      continue;
    }
    const enumerable = made?.enumerable ?? true;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable,
      get() {
        const stream = make() as NodeJS.WriteStream;
        guardPipe(stream);
        Object.defineProperty(process, name, { configurable: true, enumerable, get: () => stream });
        return stream;
      },
    });
  }
}

function guardPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stream.destroy();
  });
}

/** The one place an error reaches the user: one line (and a hint), and the exit code it stands for. */
function report(err: unknown): void {
  if (isRalphError(err)) {
    process.stderr.write(`${paint.red('ralph:')} ${err.message}\n`);
    if (err.hint) process.stderr.write(`${paint.dim(err.hint)}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof RpcError) {
    // A daemon or runner refused the request: its message is already one line for the user.
    process.stderr.write(`${paint.red('ralph:')} ${err.message.split('\n')[0]}\n`);
    process.exitCode = rpcErrorExitCode(err.kind);
  } else if (err instanceof Error && 'usage' in err) {
    process.stderr.write(`${paint.red('ralph:')} ${err.message}\n${paint.dim('see: ralph --help')}\n`);
    process.exitCode = ExitCode.usage;
  } else {
    process.stderr.write(
      `ralph: unexpected error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = ExitCode.failure;
  }
}
