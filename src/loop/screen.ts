/**
 * The rendered terminal screen of a loop, kept by a headless xterm so `peek` (and the TUI) can show what a
 * person attached to the PTY would see, not raw bytes.
 */
import xterm from '@xterm/headless';
import { findSkip } from './screen-skip.js';

const { Terminal } = xterm;

/**
 * Output gathers for up to this long, or until this much is waiting, before it is parsed: a flood then
 * arrives in pieces large enough for the lines that scroll away unseen to be left unparsed (screen-skip.ts).
 * Nothing reads the screen without `flush()`, which parses what is waiting first.
 */
const GATHER_MS = 50;
const GATHER_BYTES = 4 * 1024 * 1024;
/** Stretches shorter than this are parsed anyway: skipping them would save less than it costs. */
const MIN_SKIP_BYTES = 16 * 1024;

/** The parts of xterm's active buffer the skip needs (not in its public API; absent means never skip). */
interface BufferState {
  y: number;
  scrollTop: number;
  scrollBottom: number;
}

export interface ScreenSnapshot {
  cols: number;
  rows: number;
  cursor: { x: number; y: number };
  lines: string[];
  /** Lines that scrolled off the top, oldest first (only as many as were asked for). */
  history: string[];
}

export class Screen {
  private readonly term: InstanceType<typeof Terminal>;
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Parsing and everything that must follow it, in order. */
  private done: Promise<void> = Promise.resolve();
  private disposed = false;
  /** Output left unparsed because it scrolled away unseen (for tests and measurements). */
  skippedBytes = 0;

  constructor(
    cols: number,
    rows: number,
    private readonly scrollback = 1000,
  ) {
    this.term = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  }

  write(data: Buffer): void {
    if (this.disposed || data.length === 0) return;
    this.waiting.push(data);
    this.waitingBytes += data.length;
    if (this.waitingBytes >= GATHER_BYTES) this.parseWaiting();
    else this.timer ??= setTimeout(() => this.parseWaiting(), GATHER_MS).unref();
  }

  resize(cols: number, rows: number): void {
    this.after(() => this.term.resize(cols, rows));
  }

  /** Separates iterations: a fresh agent starts on a clean screen, as it would in a new terminal. */
  reset(): void {
    this.after(() => this.term.reset());
  }

  /** Waits until every byte written so far has been parsed (or skipped as unseen). */
  flush(): Promise<void> {
    this.parseWaiting();
    return this.done;
  }

  /** The screen as text; `scrollback` asks for up to that many lines of history above it too. */
  snapshot(scrollback = 0): ScreenSnapshot {
    const buffer = this.term.buffer.active;
    const text = (y: number): string => buffer.getLine(y)?.translateToString(true) ?? '';
    const lines: string[] = [];
    for (let y = 0; y < this.term.rows; y++) lines.push(text(buffer.viewportY + y));
    const history: string[] = [];
    for (let y = Math.max(0, buffer.viewportY - scrollback); y < buffer.viewportY; y++) history.push(text(y));
    return {
      history,
      cols: this.term.cols,
      rows: this.term.rows,
      cursor: { x: buffer.cursorX, y: buffer.cursorY },
      lines,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.waiting = [];
    this.waitingBytes = 0;
    void this.done.then(() => this.term.dispose());
  }

  /** Runs `op` after everything written before it has been parsed. */
  private after(op: () => void): void {
    this.parseWaiting();
    this.done = this.done.then(() => {
      if (!this.disposed) op();
    });
  }

  private parseWaiting(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.waitingBytes === 0) return;
    const data =
      this.waiting.length === 1 ? this.waiting[0]! : Buffer.concat(this.waiting, this.waitingBytes);
    this.waiting = [];
    this.waitingBytes = 0;
    this.done = this.done.then(() => this.feed(data));
  }

  /** Parses `data`, leaving out stretches that would scroll out of the screen and its scrollback unseen. */
  private async feed(data: Buffer): Promise<void> {
    let rest = data;
    while (rest.length > 0 && !this.disposed) {
      // Enough line feeds to bring the cursor to the bottom margin, then to push out the screen and the
      // scrollback (more than the alternate buffer, which keeps no scrollback, needs).
      const skip = findSkip(rest, 2 * this.term.rows + this.scrollback + 1, MIN_SKIP_BYTES);
      if (skip === null) return this.parse(rest);
      await this.parse(rest.subarray(0, skip.from));
      if (this.disposed) return;
      if (!this.parserAtRest()) {
        // The run began inside an escape sequence (its tail looked like text). Its first line ends that
        // sequence unless it is a string (a title, say) that goes on; then the run is parsed as it is.
        const nextLine = rest.indexOf(0x0a, skip.from) + 1;
        await this.parse(rest.subarray(skip.from, nextLine));
        if (this.parserAtRest()) {
          rest = rest.subarray(nextLine);
          continue;
        }
        await this.parse(rest.subarray(nextLine, skip.to));
      } else if (this.cursorInScrollRegion()) {
        this.skippedBytes += skip.to - skip.from - skip.sgr.length;
        if (skip.sgr.length > 0) await this.parse(skip.sgr);
      } else {
        await this.parse(rest.subarray(skip.from, skip.to));
      }
      rest = rest.subarray(skip.to);
    }
  }

  private parse(data: Buffer): Promise<void> {
    if (data.length === 0 || this.disposed) return Promise.resolve();
    return new Promise((resolve) => this.term.write(data, resolve));
  }

  /** Whether the parser is between sequences, where skipped text cannot change what it does next. */
  private parserAtRest(): boolean {
    const core = (
      this.term as unknown as { _core?: { _inputHandler?: { _parser?: { currentState?: unknown } } } }
    )._core;
    return core?._inputHandler?._parser?.currentState === 0;
  }

  /** Whether line feeds from here scroll the region (false when that cannot be told). */
  private cursorInScrollRegion(): boolean {
    const core = (this.term as unknown as { _core?: { _bufferService?: { buffer?: Partial<BufferState> } } })
      ._core;
    const buffer = core?._bufferService?.buffer;
    if (
      buffer === undefined ||
      typeof buffer.y !== 'number' ||
      typeof buffer.scrollTop !== 'number' ||
      typeof buffer.scrollBottom !== 'number'
    ) {
      return false;
    }
    return buffer.y >= buffer.scrollTop && buffer.y <= buffer.scrollBottom;
  }
}
