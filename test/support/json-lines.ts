/** Reads a child process's stdout as JSON lines and lets a test wait (bounded) for a line that matches. */
import type { Readable } from 'node:stream';

export interface JsonLines {
  /** Every parsed line so far. */
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves with the first line at index >= `from` that `match` accepts; rejects after timeoutMs. */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
    from?: number,
  ): Promise<Record<string, unknown>>;
}

export function jsonLines(stream: Readable, tail: () => string = () => ''): JsonLines {
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    let nl = partial.indexOf('\n');
    while (nl >= 0) {
      const text = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (text.startsWith('{')) {
        try {
          lines.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          // not a JSON line: ignored
        }
      }
      nl = partial.indexOf('\n');
    }
    for (const wake of [...waiters]) wake();
  });
  return {
    lines,
    waitFor(match, what, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.slice(from).find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; lines: ${JSON.stringify(lines.slice(-10))} ${tail()}`,
            ),
          );
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
  };
}
