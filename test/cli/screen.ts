/**
 * What a person would see in a terminal running a full-screen program: the program's output under a real PTY,
 * rendered by a headless xterm of the same size. Tests wait for the screen to show something.
 */
import xterm from '@xterm/headless';
import type { Term } from './term.js';

const { Terminal } = xterm;

export class TermScreen {
  private readonly term: InstanceType<typeof Terminal>;
  private fed = 0;

  constructor(
    private readonly source: Term,
    cols: number,
    rows: number,
  ) {
    this.term = new Terminal({ cols, rows, allowProposedApi: true });
  }

  /** The screen now, one string per row (trailing spaces trimmed). */
  async lines(): Promise<string[]> {
    const fresh = this.source.raw.slice(this.fed);
    this.fed = this.source.raw.length;
    await new Promise<void>((resolve) => this.term.write(fresh, resolve));
    const buffer = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) {
      out.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
    }
    return out;
  }

  async text(): Promise<string> {
    return (await this.lines()).join('\n');
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** Waits until `check` holds for the screen's text; throws with the screen when the time is up. */
  async waitFor(check: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.text();
      if (check(screen)) return screen;
      if (this.source.exitInfo !== null) {
        throw new Error(
          `the program exited (${JSON.stringify(this.source.exitInfo)}) before ${what}:\n${screen}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  dispose(): void {
    this.term.dispose();
  }
}

/** The screen row that shows `task` in the loop list. */
export function rowOf(screen: string, task: string): string {
  return screen.split('\n').find((line) => new RegExp(`^[ ▸] ${task}\\b`).test(line)) ?? '';
}
