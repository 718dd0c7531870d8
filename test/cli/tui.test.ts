/**
 * The built TUI under a real PTY against real detached loops (fake agent): the loops are listed, a status
 * change shows up live, enter attaches and Ctrl-] d comes back to the list, `s` stops a loop after asking,
 * resizes are followed. The screen is rendered by a headless xterm and read as a person would.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectSession } from '../../src/client/connect.js';
import { ensureCliBuilt } from './built.js';
import { CliSandbox } from './harness.js';
import { rowOf, TermScreen } from './screen.js';

let sb: CliSandbox;
beforeAll(async () => {
  await ensureCliBuilt();
});
beforeEach(() => {
  sb = new CliSandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const COLS = 100;
const ROWS = 30;

/** Types into a loop's agent from outside the TUI, as a second client would. */
async function typeInto(sbx: CliSandbox, task: string, text: string): Promise<void> {
  const client = await connectSession(sbx.session(task));
  try {
    await client.request('set_interactive_mode', { enabled: true });
    await client.request('write_pty', { data: text });
    await client.request('set_interactive_mode', { enabled: false });
  } finally {
    client.close();
  }
}

describe('ralph tui', () => {
  it('lists loops live, attaches and comes back, and stops a loop after asking', async () => {
    const alpha = sb.makeTask('alpha', {
      stories: 2,
      script: [{ print: 'alpha waiting' }, { echo: { until: 'go\r', timeoutMs: 60_000 } }, { passAll: true }],
    });
    const beta = sb.makeTask('beta', {
      stories: 1,
      script: [{ print: 'beta at work' }, { echo: { until: 'quit\r', timeoutMs: 60_000 } }],
    });
    await sb.start(alpha);
    await sb.start(beta);
    await sb.waitForSession('alpha', (s) => s.status === 'running', 'alpha to run');

    const term = sb.term(['tui'], { cols: COLS, rows: ROWS });
    const screen = new TermScreen(term, COLS, ROWS);
    sb.defer(() => screen.dispose());

    // Both loops listed, running, with their iteration and story; the detail pane renders the selected one.
    const liveRow = /^..(alpha|beta)\s+local\s+running\s/;
    let shown = await screen.waitFor(
      (s) => liveRow.test(rowOf(s, 'alpha')) && liveRow.test(rowOf(s, 'beta')),
      'both loops listed as running and connected',
    );
    expect(rowOf(shown, 'alpha')).toMatch(/alpha\s+local\s+running\s+1\/10\s+US-001\s+custom/);
    expect(shown).toContain('ralph · 2 loops · 2 active');

    // A status change made elsewhere appears without a key being pressed.
    await screen.waitFor((s) => rowOf(s, 'alpha').includes('ECHO:READY'), "alpha's last output line");
    await typeInto(sb, 'alpha', 'go\r');
    shown = await screen.waitFor(
      (s) => /completed .*all stories pass/.test(rowOf(s, 'alpha')),
      'alpha to show completed, and why',
    );
    expect(shown).toContain('1 active');

    // beta is the running loop, listed first and selected: enter hands the terminal to attach.
    expect(rowOf(shown, 'beta').startsWith('▸ beta')).toBe(true);
    term.write('\r');
    shown = await screen.waitFor(
      (s) => s.includes('beta at work') && !s.includes('ralph · 2 loops'),
      'the raw attach view of beta',
    );
    term.write('\x1d');
    term.write('d');
    shown = await screen.waitFor((s) => s.includes('back from beta'), 'the list after detaching');
    expect(rowOf(shown, 'beta')).toContain('running');
    expect(sb.session('beta').status).toBe('running');

    // The view follows a resize.
    term.resize(80, 24);
    screen.resize(80, 24);
    shown = await screen.waitFor(
      (s) => s.split('\n').some((l) => l.startsWith('└') && l.length === 80),
      'the layout redrawn at 80 columns',
    );
    expect(shown).not.toContain('AGENT');

    // s asks first; anything but y keeps the loop running; y stops it.
    term.write('s');
    await screen.waitFor((s) => s.includes('Stop beta?'), 'the stop question');
    term.write('n');
    await screen.waitFor((s) => s.includes('beta keeps running'), 'the answer to n');
    expect(sb.session('beta').status).toBe('running');
    term.write('s');
    await screen.waitFor((s) => s.includes('Stop beta?'), 'the stop question again');
    term.write('y');
    shown = await screen.waitFor((s) => rowOf(s, 'beta').includes('stopped'), 'beta to show stopped');
    await sb.waitForSession('beta', (s) => s.status === 'stopped', 'the registry to record the stop');
    expect(shown).toContain('0 active');

    term.write('q');
    expect((await term.exited('the TUI to quit')).exitCode).toBe(0);
  });

  it('opens on plain `ralph` in a terminal, and refuses to run without one', async () => {
    const term = sb.term([], { cols: 80, rows: 24 });
    const screen = new TermScreen(term, 80, 24);
    sb.defer(() => screen.dispose());
    await screen.waitFor((s) => s.includes('no loops yet'), 'the empty fleet view');
    term.write('q');
    expect((await term.exited('plain ralph to quit')).exitCode).toBe(0);

    const piped = await sb.ralph(['tui']);
    expect(piped.exitCode).toBe(2);
    expect(piped.stderr).toContain('ralph tui needs an interactive terminal');
  });
});
