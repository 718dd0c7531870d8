/**
 * Colour only on a terminal without NO_COLOR: ralph's banners, `[ralph]` lines and attach's status lines are
 * plain in a file or with NO_COLOR, while the agent's own escape sequences pass untouched. `logs --iteration`
 * leaves out the banner ralph printed before the iteration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, ensureCliBuilt } from './built.js';
import { CliSandbox, startArgs, type TaskFolder } from './harness.js';
import { Term } from './term.js';

let sb: CliSandbox;
let task: TaskFolder;
const RED = '\x1b[31mRED FROM THE AGENT\x1b[0m';
const BANNER_COLOUR = '\x1b[1;36m── ralph:';
const NOTE_COLOUR = '\x1b[2m[ralph]';

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  task = sb.makeTask('colours', { script: [{ print: RED }, { passStory: 'current' }] });
  await sb.start(task);
  await sb.waitForSession('colours', (s) => s.status === 'completed', 'the loop to complete');
}, 60_000);
afterAll(async () => {
  await sb.dispose();
});

async function underPty(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const term = new Term(process.execPath, [CLI_MAIN, ...args], { cwd: sb.root, env: { ...sb.env, ...env } });
  try {
    await term.exited();
    return term.raw;
  } finally {
    await term.dispose();
  }
}

describe('colour', () => {
  it('logs into a file: banners and [ralph] lines plain, the agent untouched', async () => {
    const { stdout, exitCode } = await sb.ralph(['logs', 'colours']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain('\r\n── ralph: iteration 1/10 · US-001 ──\r\n');
    expect(stdout).toContain('\r\n[ralph] loop completed: all stories pass\r\n');
    expect(stdout).toContain(RED);
    expect(stdout).not.toContain(BANNER_COLOUR);
    expect(stdout).not.toContain(NOTE_COLOUR);
  });

  it('logs on a terminal is coloured, and plain with NO_COLOR=1', async () => {
    const coloured = await underPty(['logs', 'colours'], {});
    expect(coloured).toContain(BANNER_COLOUR);
    expect(coloured).toContain(NOTE_COLOUR);
    const plain = await underPty(['logs', 'colours'], { NO_COLOR: '1' });
    expect(plain).toContain('── ralph: iteration 1/10');
    expect(plain).toContain(RED);
    expect(plain).not.toContain(BANNER_COLOUR);
    expect(plain).not.toContain(NOTE_COLOUR);
  });

  it('logs --iteration N leaves out the banner before the iteration', async () => {
    const { stdout, exitCode } = await sb.ralph(['logs', 'colours', '--iteration', '1']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain(RED);
    expect(stdout).not.toContain('ralph: iteration 1');
  });

  it("attach's status lines are plain when stdout is not a terminal", async () => {
    const quick = sb.makeTask('quick', { script: [{ print: 'quick work' }, { passStory: 'current' }] });
    const result = await sb.ralph([...startArgs(quick), '--attach']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/\[ralph\] loop completed: all stories pass\r\n$/);
    expect(result.stdout).not.toContain('\x1b[7m');
    expect(result.stdout).not.toContain(NOTE_COLOUR);
  });
});
