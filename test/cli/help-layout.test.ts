/** `--help` laid out for the terminal's width, lines broken between words and never inside one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, ensureCliBuilt } from './built.js';
import { CliSandbox } from './harness.js';
import { Term } from './term.js';

let sb: CliSandbox;
beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
});
afterAll(async () => {
  await sb.dispose();
});

async function helpAt(cols: number, args: string[]): Promise<string[]> {
  const term = new Term(process.execPath, [CLI_MAIN, ...args], { cols, rows: 60, cwd: sb.root, env: sb.env });
  try {
    expect((await term.exited()).exitCode).toBe(0);
    return term.text().split('\n');
  } finally {
    await term.dispose();
  }
}

/** Help text with its line breaks and column padding folded back into single spaces. */
const folded = (lines: string[]): string => lines.join(' ').replace(/\s+/g, ' ');

/** Each help page, and descriptions that are longer than the narrowest layout's text column. */
const PAGES: [string[], string[]][] = [
  [['--help'], ['Start a loop on a task folder (prd.json, prompt.md, progress.txt), in the background']],
  [
    ['start', '--help'],
    [
      'Command template for --agent custom; placeholders {prompt}, {prompt_file}, {task_dir}',
      'Accept <promise>COMPLETE</promise> even when prd.json still has failing stories',
    ],
  ],
  [
    ['attach', '--help'],
    [
      "Show a loop's live terminal; Ctrl-] i takes the keyboard, Ctrl-] d detaches",
      'Replay from: iteration (current one), start, end, or a byte offset',
    ],
  ],
];

describe('--help layout', () => {
  it.each([60, 80, 100])('fits %i columns and breaks lines only between words', async (cols) => {
    for (const [args, phrases] of PAGES) {
      const lines = await helpAt(cols, args);
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(cols);
      const text = folded(lines);
      for (const phrase of phrases) expect(text, `${args.join(' ')} at ${cols} columns`).toContain(phrase);
    }
  });
});
