/**
 * Splits an agent's terminal bytes into JSON lines and everything else. A line that starts with `{` is held
 * until its newline and parsed; any other bytes (an agent's stderr, a shell prompt, a partial line) pass
 * through at once, so plain text is never delayed. A held line longer than the cap passes through as text.
 */
export type DecodedLine = { json: unknown; raw: string } | { text: Buffer };

const NEWLINE = 0x0a;
/** Longest JSON line held back (tool results can be large); past it, the bytes pass through as text. */
export const MAX_JSON_LINE_BYTES = 16 * 1024 * 1024;

function looksLikeJson(pending: Buffer): boolean {
  for (const byte of pending) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0d) continue;
    return byte === 0x7b; // '{'
  }
  return true; // only blanks so far: keep waiting
}

export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside a text line: bytes pass through until its newline. */
  private passthrough = false;

  push(chunk: Buffer): DecodedLine[] {
    const out: DecodedLine[] = [];
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, i);
      if (this.passthrough) {
        const end = nl < 0 ? chunk.length : nl + 1;
        out.push({ text: chunk.subarray(i, end) });
        if (nl >= 0) this.passthrough = false;
        i = end;
        continue;
      }
      if (nl < 0) {
        this.hold(chunk.subarray(i));
        const held = Buffer.concat(this.pending);
        if (!looksLikeJson(held) || held.length > MAX_JSON_LINE_BYTES) {
          this.clear();
          this.passthrough = true;
          out.push({ text: held });
        }
        break;
      }
      this.hold(chunk.subarray(i, nl + 1));
      const line = Buffer.concat(this.pending);
      this.clear();
      out.push(classify(line));
      i = nl + 1;
    }
    return out;
  }

  /** Whatever is held, at the end of the stream. */
  flush(): DecodedLine[] {
    if (this.pendingBytes === 0) return [];
    const line = Buffer.concat(this.pending);
    this.clear();
    return [classify(line)];
  }

  private hold(piece: Buffer): void {
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
  }

  private clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}

function classify(line: Buffer): DecodedLine {
  const raw = line.toString('utf8').trim();
  if (raw.startsWith('{')) {
    try {
      return { json: JSON.parse(raw) as unknown, raw };
    } catch {
      // not JSON after all: shown as it is
    }
  }
  return { text: line };
}
