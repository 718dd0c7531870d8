/**
 * A command under a real pseudo-terminal (node-pty): everything it prints is kept, waits are bounded, and the
 * exit is awaited with a deadline. node-pty can report the exit before the last output has been read, so the
 * exit promise resolves once output has gone quiet (at most 2 s after the exit).
 */
import * as pty from 'node-pty';
import { drainBeforeClose } from '../../src/loop/agent-process.js';

export interface TermExit {
  exitCode: number;
  signal: number;
}

export interface TermOptions {
  cols?: number;
  rows?: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

// Escape sequences are control characters by definition.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]/g;

/** Terminal output without escape sequences and carriage returns, for matching text. */
export function plain(raw: string): string {
  return raw.replace(ANSI, '').replace(/\r/g, '');
}

export class Term {
  readonly proc: pty.IPty;
  /** Everything the command printed, as received. */
  raw = '';
  exitInfo: TermExit | null = null;
  private readonly exitPromise: Promise<TermExit>;
  private lastData = Date.now();

  constructor(file: string, args: string[], options: TermOptions) {
    this.proc = pty.spawn(file, args, {
      name: 'xterm-256color',
      cols: options.cols ?? 100,
      rows: options.rows ?? 30,
      cwd: options.cwd,
      env: options.env,
    });
    // Output still buffered in the kernel when the command exits would otherwise be dropped under load.
    drainBeforeClose(this.proc, (chunk) => {
      this.raw += chunk.toString('utf8');
      this.lastData = Date.now();
    });
    this.proc.onData((chunk) => {
      this.raw += chunk;
      this.lastData = Date.now();
    });
    this.exitPromise = new Promise((resolve) => {
      this.proc.onExit(({ exitCode, signal }) => {
        const exitedAt = Date.now();
        const settle = (): void => {
          const now = Date.now();
          if (now - this.lastData >= 100 || now - exitedAt >= 2000) {
            this.exitInfo = { exitCode, signal: signal ?? 0 };
            resolve(this.exitInfo);
          } else setTimeout(settle, 25);
        };
        setTimeout(settle, 25);
      });
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** The output so far without escape sequences; `from` is a length of `raw` returned by `mark()`. */
  text(from = 0): string {
    return plain(this.raw.slice(from));
  }

  /** A position in the output; later waits can look only at what came after it. */
  mark(): number {
    return this.raw.length;
  }

  /** Waits until the output after `from` matches; throws with the output's tail when the time is up. */
  async waitFor(
    pattern: string | RegExp,
    what: string,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const deadline = Date.now() + timeoutMs;
    const matches = (): boolean => {
      const text = this.text(options.from ?? 0);
      return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
    };
    while (!matches()) {
      if (this.exitInfo !== null && !matches()) {
        throw new Error(
          `the command exited (${JSON.stringify(this.exitInfo)}) before ${what}:\n${this.tail()}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  tail(chars = 1500): string {
    return this.text().slice(-chars);
  }

  write(data: string): void {
    this.proc.write(data);
  }

  resize(cols: number, rows: number): void {
    this.proc.resize(cols, rows);
  }

  /**
   * Closes the terminal the way a closed window does: the master side goes away, so the kernel hangs up the
   * session (SIGHUP to its processes), and the shell gets SIGHUP too. node-pty has `destroy` at runtime
   * although its typings leave it out.
   */
  hangUp(): void {
    const withDestroy = this.proc as pty.IPty & { destroy?: () => void };
    if (typeof withDestroy.destroy === 'function') withDestroy.destroy();
    else this.proc.kill('SIGHUP');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exitInfo === null) this.proc.kill(signal);
  }

  /** The exit, or an error naming `what` after `timeoutMs`. */
  async exited(what = 'the command to exit', timeoutMs = 30_000): Promise<TermExit> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.tail()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exitPromise, limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the command if it is still running and waits (bounded) for its exit. */
  async dispose(): Promise<void> {
    if (this.exitInfo !== null) return;
    this.kill('SIGKILL');
    await this.exited('a killed terminal command to exit', 5000).catch(() => undefined);
  }
}
