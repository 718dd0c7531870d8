/** Small rendering helpers shared by the commands: colour that honours NO_COLOR, tables, durations. */
import { fstatSync, writeSync } from 'node:fs';
import { RalphError, ExitCode } from '../src/errors.js';
import { Uncolored } from '../src/loop/marks.js';

/**
 * Colour only on a terminal and without NO_COLOR (any non-empty value). Asked of the descriptor, not of
 * `process.stdout` or `tty.isatty` (both load Node's whole stream code, a few ms a short command need not pay):
 * a terminal is a character device. So is /dev/null, where colour harms no one.
 */
export const useColor = (): boolean => stdoutIsTerminal() && !process.env.NO_COLOR;

let terminal: boolean | undefined;
function stdoutIsTerminal(): boolean {
  if (terminal === undefined) {
    try {
      terminal = fstatSync(1).isCharacterDevice();
    } catch {
      terminal = false;
    }
  }
  return terminal;
}

/**
 * How `writeStdout` writes: through `process.stdout` (the default, for code that runs the commands in its own
 * process and may have replaced `process.stdout.write`), or straight to fd 1 (the `ralph` command line, see
 * `writeStdoutDirectly`); `gone` once the reader has gone.
 */
let stdoutMode: 'direct' | 'stream' | 'gone' = 'stream';

/** The command line's choice: from now on `writeStdout` writes to fd 1 itself (see there). */
export function writeStdoutDirectly(): void {
  if (stdoutMode === 'stream') stdoutMode = 'direct';
}

/**
 * Writes to standard output. In the command line, straight to fd 1 while that works, so that a command printing
 * a table or JSON never builds `process.stdout`; from the first write that would block (a non-blocking pipe
 * whose reader is slow) through the stream, which waits for the reader, in order. A reader that went away
 * (`| head -1`) ends the output, not the command.
 */
export function writeStdout(text: string): void {
  if (stdoutMode === 'gone') return;
  if (stdoutMode === 'stream') {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(1, bytes, offset);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') {
      stdoutMode = 'gone';
      return;
    }
    if (code !== 'EAGAIN') throw err;
    stdoutMode = 'stream';
    process.stdout.write(bytes.subarray(offset));
  }
}

/**
 * A loop's terminal bytes to stdout. With colour off, ralph's own banners and `[ralph]` lines lose theirs; the
 * agent's bytes pass as they are. `end()` writes whatever was held back at the very end.
 */
export function terminalOutput(): { write: (chunk: Buffer) => void; end: () => void } {
  if (useColor()) return { write: (chunk) => void process.stdout.write(chunk), end: () => undefined };
  const plain = new Uncolored();
  return {
    write: (chunk) => void process.stdout.write(plain.push(chunk)),
    end: () => void process.stdout.write(plain.flush()),
  };
}

/** The label of attach's status lines: reverse video with colour, `[ralph]` without. */
export function statusLine(text: string): string {
  return `\r\n${useColor() ? '\x1b[7m ralph \x1b[0m' : '[ralph]'} ${text}\r\n`;
}

export const paint = {
  bold: (s: string) => (useColor() ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (useColor() ? `\x1b[2m${s}\x1b[22m` : s),
  red: (s: string) => (useColor() ? `\x1b[31m${s}\x1b[39m` : s),
  green: (s: string) => (useColor() ? `\x1b[32m${s}\x1b[39m` : s),
  yellow: (s: string) => (useColor() ? `\x1b[33m${s}\x1b[39m` : s),
  cyan: (s: string) => (useColor() ? `\x1b[36m${s}\x1b[39m` : s),
};

export function printJson(value: unknown): void {
  writeStdout(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = ''): void {
  writeStdout(`${line}\n`);
}

/** Renders rows as aligned columns; colour codes do not count toward widths. */
export function table(headers: string[], rows: string[][]): string {
  const lines = [headers.map((h) => paint.dim(h)), ...rows];
  // Each cell is measured once (a listing has thousands): with no colour, it holds no escape to strip.
  const measured = lines.map((cells) => cells.map(visibleLength));
  const widths = headers.map((_, i) => Math.max(...measured.map((m) => m[i] ?? 0)));
  return lines
    .map((cells, row) =>
      cells
        .map((c, i) =>
          i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - (measured[row]![i] ?? 0)),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The columns `text` takes on screen: colour codes take none. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.includes('\x1b') ? text.replace(/\x1b\[[0-9;]*m/g, '').length : text.length;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90`, `90s`, `15m`, `1h30m`, `7d` into milliseconds (not rounded); a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new RalphError('INVALID_DURATION', `${flag}: cannot read ${JSON.stringify(text)} as a duration`, {
      exitCode: ExitCode.usage,
      hint: 'use a number of seconds or a duration such as 90s, 15m, 1h30m, 7d; 0 means no limit',
    });
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2]!] ?? 0), 0);
}

export function formatAge(fromIso: string | null, now = Date.now()): string {
  if (!fromIso) return '-';
  const secs = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m`;
  if (secs < 86400) return `${Math.floor(secs / 3600)}h${Math.floor((secs % 3600) / 60)}m`;
  return `${Math.floor(secs / 86400)}d`;
}

export function colorStatus(status: string): string {
  switch (status) {
    case 'completed':
      return paint.green(status);
    case 'running':
    case 'interactive':
      return paint.cyan(status);
    case 'failed':
    case 'crashed':
    case 'lost':
    case 'stalled':
      return paint.red(status);
    case 'waiting':
    case 'exhausted':
    case 'budget_exceeded':
    case 'paused':
    case 'stopping':
    case 'unreachable':
      return paint.yellow(status);
    default:
      return status;
  }
}
