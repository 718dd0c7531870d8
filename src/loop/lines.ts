/**
 * Turns raw PTY bytes into complete, ANSI-free text lines for `output` events and `recent_output`.
 * Carriage-return redraws (spinners, progress bars) keep only the text after the last `\r` of a line.
 */
import { StringDecoder } from 'node:string_decoder';
import { stripVTControlCharacters } from 'node:util';

const MAX_PENDING_CHARS = 64 * 1024;

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  /** Feeds bytes and returns the complete lines they finished. */
  push(data: Buffer): string[] {
    this.pending += this.decoder.write(data);
    const lines: string[] = [];
    let nl = this.pending.indexOf('\n');
    while (nl !== -1) {
      lines.push(clean(this.pending.slice(0, nl)));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    if (this.pending.length > MAX_PENDING_CHARS) {
      lines.push(clean(this.pending));
      this.pending = '';
    }
    return lines;
  }

  /** Returns what is left as a final line, if anything. */
  flush(): string[] {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    const line = clean(rest);
    return line === '' ? [] : [line];
  }
}

function clean(raw: string): string {
  const text = stripVTControlCharacters(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
  const cr = text.lastIndexOf('\r');
  // Control characters left after stripping escapes (bell, backspace, ...) are not text.
  // eslint-disable-next-line no-control-regex
  return (cr === -1 ? text : text.slice(cr + 1)).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** A fixed-size ring of the most recent lines. */
export class RecentLines {
  private readonly lines: string[] = [];
  constructor(private readonly capacity = 50) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
  }

  snapshot(): string[] {
    return [...this.lines];
  }

  last(): string | null {
    return this.lines.at(-1) ?? null;
  }
}
