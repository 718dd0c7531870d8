/**
 * Finding output the screen model may leave unparsed.
 *
 * Parsing is the costliest thing the screen model does, and during a flood (an agent printing a build log or
 * a large file) most lines scroll past the screen and out of the scrollback before anyone could look. A stretch
 * of "plain" output — printable text, UTF-8 outside the C1 range, CR, LF, tab, backspace and SGR colour
 * sequences — changes nothing but the cursor, the cells it writes and the current colours. When such a stretch
 * is followed, within the same stretch, by enough line feeds to push every line of the screen and of its
 * scrollback out (and to bring the cursor down to the bottom margin first), the lines written before them are
 * gone whatever they held: the screen, scrollback and cursor afterwards are the same with or without them. What
 * they leave behind that still counts is the colour state, so their SGR sequences are kept (only those since the
 * last one that starts with a reset).
 *
 * The caller checks what the scan cannot see: that the cursor starts inside the scroll region (a cursor below
 * the bottom margin never scrolls, so its row keeps the overlay of every line written on it).
 */

const ESC = 0x1b;
const LF = 0x0a;
const CR = 0x0d;

/** A stretch to leave unparsed: bytes [from, to) are skipped and `sgr` is parsed in their place. */
export interface Skip {
  from: number;
  to: number;
  sgr: Buffer;
}

/**
 * The first skippable stretch of `data`: inside one plain run, everything before the line feed that has
 * `linesAfter` line feeds of the same run after it (and a carriage return among them, so the cursor's column
 * at the end does not depend on what was skipped). Null when there is none worth skipping.
 */
export function findSkip(data: Buffer, linesAfter: number, minBytes = 0): Skip | null {
  let runStart = 0;
  let i = 0;
  while (i < data.length) {
    const end = plainRunEnd(data, i);
    if (end > i) {
      const skip = skipInRun(data, runStart, end, linesAfter, minBytes);
      if (skip !== null) return skip;
      i = end;
    } else {
      i += 1;
    }
    runStart = i;
  }
  return null;
}

/** Bytes that are plain on their own: printable ASCII, LF, CR, tab and backspace (a table: the scan is hot). */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b <= 0x7e; b++) PLAIN[b] = 1;
for (const b of [LF, CR, 0x09, 0x08]) PLAIN[b] = 1;

/** Where the plain run starting at `start` ends (exclusive); `start` itself when data[start] is not plain. */
function plainRunEnd(data: Buffer, start: number): number {
  const n = data.length;
  let i = start;
  while (i < n) {
    while (i < n && PLAIN[data[i]!] === 1) i++;
    if (i >= n) break;
    const b = data[i]!;
    const end = b === ESC ? sgrEnd(data, i) : b >= 0x80 ? utf8End(data, i) : -1;
    if (end < 0) break;
    i = end;
  }
  return i;
}

/** The end of a complete SGR sequence (ESC [ digits ; : m) at `at`, or -1. */
function sgrEnd(data: Buffer, at: number): number {
  if (data[at + 1] !== 0x5b) return -1;
  for (let i = at + 2; i < data.length && i < at + 64; i++) {
    const b = data[i]!;
    if (b === 0x6d) return i + 1;
    if (!((b >= 0x30 && b <= 0x39) || b === 0x3b || b === 0x3a)) return -1;
  }
  return -1;
}

/** The end of one complete, valid UTF-8 character at `at` that is not a C1 control, or -1. */
function utf8End(data: Buffer, at: number): number {
  const b = data[at]!;
  const len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? (b <= 0xef ? 3 : 0) : b >= 0xc2 && b <= 0xdf ? 2 : 0;
  if (len === 0 || at + len > data.length) return -1;
  for (let k = 1; k < len; k++) if ((data[at + k]! & 0xc0) !== 0x80) return -1;
  if (b === 0xc2 && data[at + 1]! < 0xa0) return -1; // U+0080..U+009F are C1 controls to a terminal
  return at + len;
}

function skipInRun(
  data: Buffer,
  start: number,
  end: number,
  linesAfter: number,
  minBytes: number,
): Skip | null {
  // Walk back from the run's end to the line feed with `linesAfter` line feeds after it.
  let feeds = 0;
  let sawCr = false;
  let cut = -1;
  for (let i = end - 1; i >= start; i--) {
    const b = data[i];
    if (b === CR) sawCr = true;
    else if (b === LF) {
      if (feeds >= linesAfter && sawCr) {
        cut = i + 1;
        break;
      }
      feeds += 1;
    }
  }
  if (cut < 0 || cut - start < minBytes) return null;
  return { from: start, to: cut, sgr: keptSgr(data, start, cut) };
}

/** The SGR sequences in [start, end) that still count: those from the last one that begins with a reset. */
function keptSgr(data: Buffer, start: number, end: number): Buffer {
  const kept: Buffer[] = [];
  let i = start;
  while (i < end) {
    const at = data.indexOf(ESC, i);
    if (at < 0 || at >= end) break;
    const close = sgrEnd(data, at);
    if (close < 0) {
      i = at + 1;
      continue;
    }
    const params = data.subarray(at + 2, close - 1).toString('latin1');
    if (params === '' || params === '0' || params.startsWith('0;') || params.startsWith(';')) kept.length = 0;
    kept.push(data.subarray(at, close));
    i = close;
  }
  return Buffer.concat(kept);
}
