/**
 * The rendered terminal screen of a loop, kept by a headless xterm so `peek` (and the TUI) can show what a
 * person attached to the PTY would see, not raw bytes.
 */
import xterm from '@xterm/headless';

const { Terminal } = xterm;

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

  constructor(cols: number, rows: number, scrollback = 1000) {
    this.term = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  }

  write(data: Buffer): void {
    this.term.write(data);
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** Separates iterations: a fresh agent starts on a clean screen, as it would in a new terminal. */
  reset(): void {
    this.term.reset();
  }

  /** Waits until every byte written so far has been parsed. */
  flush(): Promise<void> {
    return new Promise((resolve) => this.term.write('', resolve));
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
    this.term.dispose();
  }
}
