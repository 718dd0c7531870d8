/**
 * `ralph --help`, every command's `--help` (laid out for the terminal's width, lines broken between words),
 * `--version`, and usage errors: exit codes and one-line messages.
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN, ROOT } from './built.js';
import { useCliSandbox } from './harness.js';
import { Term } from './term.js';

const sb = useCliSandbox();

const COMMANDS: Record<string, string[]> = {
  start: [
    '--agent',
    '--agent-cmd',
    '--max-iterations',
    '--iteration-timeout',
    '--idle-timeout',
    '--max-failures',
    '--foreground',
    '--attach',
    '--json',
    '--name',
  ],
  status: ['--all', '--json', '--link'],
  attach: ['--read-only', '--interactive', '--from'],
  stop: ['--force', '--wait', '--json'],
  logs: ['--follow', '--iteration'],
  peek: ['--json'],
  inject: ['<text>'],
  prune: ['--older-than', '--dry-run', '--keep-logs', '--json'],
  demo: ['--speed', '--max-iterations'],
  agents: ['--json'],
  daemon: ['--config', '--ziti', '--log', 'init'],
  link: ['status', 'stop', 'start', 'serve'],
  web: ['--port', '--socket', '--read-only', '--open'],
};

/** stderr of a usage error: one line naming the problem, then at most one hint line. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(lines[0]).toMatch(/^ralph: /);
  expect(lines[0]).toMatch(pattern);
}

describe('help and version', () => {
  it('ralph --help lists every command and exits 0', async () => {
    const result = await sb().ralph(['--help']);
    expect(result.exitCode).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(result.stdout).toMatch(new RegExp(`ralph ${name}\\b`));
    expect(result.stdout).toContain('docs/cli.md');
    expect(result.stderr).toBe('');
  });

  it.each(Object.entries(COMMANDS))(
    'ralph %s --help lists its options and exits 0',
    async (name, options) => {
      const result = await sb().ralph([name, '--help']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`ralph ${name}`);
      for (const option of options) expect(result.stdout).toContain(option);
    },
  );

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await sb().ralph(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('--version names ralph, not the project it is installed in', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const project = mkdtempSync(join(tmpdir(), 'ralph-installed-'));
    try {
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'their-app', version: '9.9.9' }));
      const installed = join(project, 'node_modules', 'ralph-supervisor');
      mkdirSync(installed, { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(installed, 'package.json'));
      cpSync(join(ROOT, 'dist'), join(installed, 'dist'), { recursive: true });
      // Dependencies sit beside it, as npm lays them out; yargs is a real copy, since where it lies decides
      // which package.json it would take the version from.
      for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
        if (dep.startsWith('.')) continue;
        const from = join(ROOT, 'node_modules', dep);
        const to = join(project, 'node_modules', dep);
        if (dep === 'yargs') cpSync(from, to, { recursive: true });
        else symlinkSync(from, to);
      }
      const result = await execa(process.execPath, [join(installed, 'dist', 'cli', 'main.js'), '--version'], {
        cwd: project,
        reject: false,
      });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trim()).toBe(pkg.version);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});

describe('usage errors exit 2 with one line', () => {
  it('no command at all', async () => {
    const result = await sb().ralph([]);
    expect(result.exitCode).toBe(2);
    expectOneLineError(result.stderr, /name a command/);
  });

  it('an unknown command close to a real one names both', async () => {
    const result = await sb().ralph(['stat']);
    expect(result.exitCode).toBe(2);
    expectOneLineError(result.stderr, /unknown command stat.*did you mean start/i);
  });

  it('an unknown command like no other', async () => {
    const result = await sb().ralph(['zzzzzzzz']);
    expect(result.exitCode).toBe(2);
    expectOneLineError(result.stderr, /unknown command zzzzzzzz/i);
    expect(result.stdout).toBe('');
  });

  it.each([
    [['status', '--bogus'], /unknown argument: bogus/i],
    [['start'], /not enough non-option arguments/i],
    [
      ['start', '.', '--max-iterations', '0'],
      /--max-iterations must be a whole number of at least 1, got "0"/,
    ],
    [['start', '.', '--max-iterations', 'many'], /--max-iterations must be a whole number/],
    [['start', '.', '--idle-timeout', 'soon'], /--idle-timeout: cannot read "soon" as a duration/],
    [['prune', '--older-than', '3x'], /--older-than: cannot read "3x" as a duration/],
    [
      ['attach', 'x', '--from', 'nowhere'],
      /--from must be iteration, start, end or a byte offset, got nowhere/,
    ],
  ])('ralph %j', async (args, pattern) => {
    const result = await sb().ralph(args);
    expect(result.exitCode).toBe(2);
    expectOneLineError(result.stderr, pattern);
    expect(result.stdout).toBe('');
  });

  it('commands that find nothing exit 3', async () => {
    for (const args of [
      ['peek', 'ghost'],
      ['inject', 'ghost', 'hi'],
      ['logs', 'ghost'],
      ['attach', 'ghost'],
    ]) {
      const result = await sb().ralph(args);
      expect(result.exitCode, args.join(' ')).toBe(3);
      expectOneLineError(result.stderr, /no loop named "ghost"/);
    }
  });
});

async function helpAt(cols: number, args: string[]): Promise<string[]> {
  const term = new Term(process.execPath, [CLI_MAIN, ...args], {
    cols,
    rows: 60,
    cwd: sb().root,
    env: sb().env,
  });
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
