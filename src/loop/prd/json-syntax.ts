/**
 * Finds where a JSON text first goes wrong. `JSON.parse` names a position for some mistakes and not for others
 * (and the wording differs between Node versions), so a small scanner of our own gives every syntax error a
 * line, a column and a plain reason.
 */
export interface JsonSyntaxProblem {
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  reason: string;
}

class Stop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  private describe(at: number): string {
    const ch = this.text[at];
    return ch === undefined ? 'end of input' : `'${ch}'`;
  }

  private fail(reason: string, at = this.pos): never {
    throw new Stop(at, reason);
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && WHITESPACE.has(this.text[this.pos] as string)) this.pos++;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  value(): void {
    this.skipWhitespace();
    const ch = this.text[this.pos];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') return this.string();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    this.fail(`expected a value, found ${this.describe(this.pos)}`);
  }

  private object(): void {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') {
        const trailing = this.text[this.pos] === '}';
        this.fail(
          trailing
            ? "trailing comma before '}'"
            : `expected a double-quoted property name, found ${this.describe(this.pos)}`,
        );
      }
      this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':')
        this.fail(`expected ':' after property name, found ${this.describe(this.pos)}`);
      this.pos++;
      this.value();
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next === '}') {
        this.pos++;
        return;
      }
      if (next !== ',')
        this.fail(`expected ',' or '}' after property value, found ${this.describe(this.pos)}`);
      this.pos++;
    }
  }

  private array(): void {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] === ']') this.fail("trailing comma before ']'");
      this.value();
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next === ']') {
        this.pos++;
        return;
      }
      if (next !== ',')
        this.fail(`expected ',' or ']' after array element, found ${this.describe(this.pos)}`);
      this.pos++;
    }
  }

  private string(): void {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const ch = this.text[this.pos];
      if (ch === undefined) this.fail('unterminated string', start);
      if (ch === '"') {
        this.pos++;
        return;
      }
      if (ch === '\\') {
        const esc = this.text[this.pos + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6)))
            this.fail('invalid \\u escape');
          this.pos += 6;
          continue;
        }
        if (esc === undefined || !ESCAPES.has(esc)) this.fail(`invalid escape '\\${esc ?? ''}' in string`);
        this.pos += 2;
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) this.fail('control character (such as a raw newline) inside a string');
      this.pos++;
    }
  }

  private number(): void {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos));
    if (match === null) this.fail('invalid number');
    this.pos += match[0].length;
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9.eE]/.test(next))
      this.fail('invalid number (no leading zeros, digits after the point)');
  }
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The first syntax error in `text`, or null when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | null {
  const scanner = new Scanner(text);
  try {
    scanner.skipWhitespace();
    if (scanner.atEnd()) throw new Stop(scanner.pos, 'the file is empty');
    scanner.value();
    scanner.skipWhitespace();
    if (!scanner.atEnd())
      throw new Stop(scanner.pos, 'unexpected content after the end of the JSON document');
    return null;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    return { offset: err.offset, reason: err.reason, ...lineColumn(text, err.offset) };
  }
}
