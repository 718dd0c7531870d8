/**
 * Turns raw PTY bytes into complete, ANSI-free text lines for `output` events and `recent_output`.
 * Carriage-return redraws (spinners, progress bars) keep only the text after the last `\r` of a line.
 *
 * Cleaning is the costly part, so it is done only for lines someone receives: every line while a client
 * listens for `output`, otherwise only the few kept for `recent_output`, and those only when asked for.
 */
import { StringDecoder } from 'node:string_decoder';
import { stripVTControlCharacters } from 'node:util';

const MAX_PENDING_CHARS = 64 * 1024;

export class OutputLines {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** The most recent complete lines, raw, oldest first. */
  private recent: string[] = [];

  constructor(private readonly capacity = 50) {}

  /**
   * Feeds bytes. With `wantLines`, returns every line they completed, cleaned; otherwise only remembers
   * the last few and returns nothing.
   */
  push(data: Buffer, wantLines: boolean): string[] {
    let text = this.pending + this.decoder.write(data);
    let end = text.lastIndexOf('\n');
    if (end === -1) {
      if (text.length <= MAX_PENDING_CHARS) {
        this.pending = text;
        return [];
      }
      // A line that never ends is cut into pieces rather than held without bound.
      text += '\n';
      end = text.length - 1;
    }
    this.pending = text.slice(end + 1);
    return wantLines ? this.splitAll(text, end) : (this.keepLast(text, end), []);
  }

  /** Returns what is left as a final line, if anything. */
  flush(wantLines: boolean): string[] {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest === '') return [];
    this.remember([rest]);
    const line = clean(rest);
    return wantLines && line !== '' ? [line] : [];
  }

  /** The last lines, cleaned, oldest first. */
  snapshot(): string[] {
    return this.recent.map(clean);
  }

  private splitAll(text: string, end: number): string[] {
    const raw: string[] = [];
    let start = 0;
    while (start <= end) {
      const nl = text.indexOf('\n', start);
      raw.push(text.slice(start, nl));
      start = nl + 1;
    }
    this.remember(raw);
    return raw.map(clean);
  }

  /** Remembers only the last `capacity` lines of `text[0..end]`, scanning backwards. */
  private keepLast(text: string, end: number): void {
    const raw: string[] = [];
    let stop = end;
    while (raw.length < this.capacity && stop >= 0) {
      const prev = text.lastIndexOf('\n', stop - 1);
      raw.push(text.slice(prev + 1, stop));
      if (prev < 0) break;
      stop = prev;
    }
    this.remember(raw.reverse());
  }

  private remember(lines: string[]): void {
    const all = this.recent.length + lines.length > this.capacity ? [...this.recent, ...lines] : null;
    if (all) this.recent = all.slice(-this.capacity);
    else this.recent.push(...lines);
  }
}

function clean(raw: string): string {
  const text = stripVTControlCharacters(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
  const cr = text.lastIndexOf('\r');
  // Control characters left after stripping escapes (bell, backspace, ...) are not text.
  // eslint-disable-next-line no-control-regex
  return (cr === -1 ? text : text.slice(cr + 1)).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}
