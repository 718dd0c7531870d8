/**
 * Help text laid out between words. yargs' ESM build wraps help in the middle of words at any width, so the
 * parser is told not to wrap (`.wrap(null)`) and the help it prints is laid out again here: long lines are
 * broken between words, and an option's description continues under its own column.
 */

/** Words, keeping a bracketed note such as `[default: "claude"]` in one piece. */
function words(text: string): string[] {
  return text.match(/\[[^\]]*\]|\S+/g) ?? [];
}

/** Where the text of a line starts: after an option column and its gap of two or more spaces, if it has one. */
function textColumn(line: string, width: number): number {
  const column = /^( *\S+(?: \S+)*? {2,})\S/.exec(line);
  if (column && column[1]!.length <= width / 2) return column[1]!.length;
  return line.length - line.trimStart().length;
}

export function layoutHelp(text: string, width: number): string {
  return text
    .split('\n')
    .flatMap((line) => {
      if (line.length <= width) return [line];
      const indent = textColumn(line, width);
      const room = Math.max(20, width - indent);
      const out: string[] = [];
      let current = '';
      for (const word of words(line.slice(indent))) {
        if (current !== '' && current.length + 1 + word.length > room) {
          out.push(current);
          current = word;
        } else current = current === '' ? word : `${current} ${word}`;
      }
      out.push(current);
      return out.map((part, i) => (i === 0 ? line.slice(0, indent) : ' '.repeat(indent)) + part);
    })
    .join('\n');
}

/**
 * Runs `parse` with help and version output (yargs prints them with console.log) laid out for `width`
 * columns. Command handlers print through process.stdout, never console.log, so nothing else is touched;
 * `release` hands console.log back as soon as a command starts running.
 */
export async function withHelpLayout<T>(
  width: number,
  parse: (release: () => void) => Promise<T>,
): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]) => original(layoutHelp(args.map(String).join(' '), width));
  const release = (): void => {
    console.log = original;
  };
  try {
    return await parse(release);
  } finally {
    release();
  }
}
