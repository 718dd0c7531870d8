/**
 * ralph's own lines in a loop's terminal stream: the banner before each iteration and `[ralph]` notes. They
 * are written coloured into the output log (attached terminals show them so); `Uncolored` takes the colour
 * back out of exactly these lines, for output going to a file or with NO_COLOR, and leaves every other
 * byte, the agent's own escape sequences included, as it is.
 */

const BANNER_OPEN = '\x1b[1;36m── ralph: ';
const NOTE_OPEN = '\x1b[2m[ralph] ';
const CLOSE = '\x1b[0m';

/** The banner that starts an iteration's output. */
export function bannerBytes(label: string): Buffer {
  return Buffer.from(`\r\n${BANNER_OPEN}${label} ──${CLOSE}\r\n`);
}

/** A line of ralph's own (dim) in the terminal stream. */
export function noteBytes(text: string): Buffer {
  return Buffer.from(`\r\n${NOTE_OPEN}${text}${CLOSE}\r\n`);
}

// Matching is done on latin1 strings: one character per byte, so nothing is decoded or re-encoded.
const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const OPENERS = [latin1(BANNER_OPEN), latin1(NOTE_OPEN)];
const SGR = /^\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex
const BANNER_START = latin1(`\r\n${BANNER_OPEN}`);

/**
 * Bytes at the start of `head` taken by an iteration's banner (0 when it does not start with one). `head`
 * is the start of an iteration's output; 512 bytes hold any banner.
 */
export function bannerLength(head: Buffer): number {
  const text = head.toString('latin1');
  if (!text.startsWith(BANNER_START)) return 0;
  const end = text.indexOf(`${CLOSE}\r\n`, BANNER_START.length);
  return end < 0 ? 0 : end + CLOSE.length + 2;
}

/** Longest end of `text` that is the beginning of one of `words` (it may complete in the next chunk). */
function partialTail(text: string, words: string[]): number {
  const longest = Math.max(...words.map((w) => w.length)) - 1;
  for (let n = Math.min(longest, text.length); n > 0; n--) {
    const tail = text.slice(text.length - n);
    if (words.some((w) => w.startsWith(tail))) return n;
  }
  return 0;
}

/** Removes the colour of ralph's banners and notes from a byte stream, chunk by chunk. */
export class Uncolored {
  private carry = '';
  private inside = false;

  push(chunk: Buffer): Buffer {
    let text = this.carry + chunk.toString('latin1');
    this.carry = '';
    let out = '';
    for (;;) {
      if (this.inside) {
        const close = text.indexOf(CLOSE);
        if (close < 0) {
          const keep = partialTail(text, [CLOSE]);
          out += text.slice(0, text.length - keep);
          this.carry = text.slice(text.length - keep);
          break;
        }
        out += text.slice(0, close);
        text = text.slice(close + CLOSE.length);
        this.inside = false;
        continue;
      }
      const found = OPENERS.map((o) => text.indexOf(o)).filter((i) => i >= 0);
      if (found.length === 0) {
        const keep = partialTail(text, OPENERS);
        out += text.slice(0, text.length - keep);
        this.carry = text.slice(text.length - keep);
        break;
      }
      const at = Math.min(...found);
      const sgr = SGR.exec(text.slice(at))![0];
      out += text.slice(0, at);
      text = text.slice(at + sgr.length);
      this.inside = true;
    }
    return Buffer.from(out, 'latin1');
  }

  /** What is held back at the end of the stream (the start of a line that never completed). */
  flush(): Buffer {
    const rest = Buffer.from(this.carry, 'latin1');
    this.carry = '';
    return rest;
  }
}
