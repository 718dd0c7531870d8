import { Box, Text } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Mode, Notice } from '../state/types.js';
import { FOREGROUND, lines, widest } from '../test-fixtures.js';
import { Footer, KEY_HINTS, KEY_HINTS_WIDE } from './Footer.js';

// Chalk decides at import whether to emit colours, and a test worker has no terminal: force them on, so that
// a footer without colour codes is the component's doing and not the environment's.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

afterEach(cleanup);

function show(
  mode: Mode,
  notice: Notice | null = null,
  {
    width = 100,
    color = false,
    locations = ['local'],
  }: { width?: number; color?: boolean; locations?: string[] } = {},
): string {
  const r = render(
    <Box flexDirection="column">
      <Footer mode={mode} notice={notice} width={width} color={color} locations={locations} />
    </Box>,
  );
  return r.lastFrame() ?? '';
}

const LIST: Mode = { kind: 'list' };

describe('Footer', () => {
  it('shows the key hints in the list, every one of them at 80 columns', () => {
    expect(lines(show(LIST))[0]).toBe(KEY_HINTS_WIDE);
    cleanup();
    const narrow = lines(show(LIST, null, { width: 80 }))[0]!;
    expect(narrow).toBe(KEY_HINTS);
    for (const key of ['↵', 'i ', 's ', 'p ', '+ ', 'n ', '/ ', '? ', 'q ']) expect(narrow).toContain(key);
  });

  it('asks before stopping a loop', () => {
    const frame = show({ kind: 'confirm-stop', key: 'local/alpha', task: 'alpha' });
    expect(lines(frame)[0]).toBe('Stop alpha? The agent gets SIGTERM. y = stop, n or Esc = keep it running');
  });

  it('shows what is being typed, with a cursor', () => {
    const frame = show({
      kind: 'input',
      purpose: 'iterations',
      value: '12',
      key: 'local/alpha',
      task: 'alpha',
    });
    expect(lines(frame)[0]).toBe('Iterations to add: 12█  (↵ ok, Esc cancel)');
    cleanup();
    expect(lines(show({ kind: 'input', purpose: 'filter', value: 'vps run' }))[0]).toContain(
      'Filter: vps run█',
    );
    cleanup();
    expect(lines(show({ kind: 'input', purpose: 'new-folder', value: './proj' }))[0]).toContain(
      'Task folder: ./proj█',
    );
    cleanup();
    expect(
      lines(show({ kind: 'input', purpose: 'new-agent', value: 'codex', folder: './proj' }))[0],
    ).toContain('Agent: codex█');
  });

  it('offers the locations to start a loop on, the chosen one in brackets', () => {
    const locations = ['local', 'vps1', 'vps2'];
    const mode: Mode = { kind: 'pick-location', folder: './proj', agent: 'claude', choice: 1 };
    const frame = show(mode, null, { locations });
    expect(lines(frame)[0]).toBe('Start ./proj on:  local [vps1] vps2   (←/→ choose, ↵ start, Esc cancel)');
    cleanup();
    expect(lines(show({ ...mode, choice: 0 }, null, { locations }))[0]).toContain('[local] vps1  vps2 ');
  });

  it('marks notices by kind', () => {
    expect(lines(show(LIST, { kind: 'error', text: 'alpha has already ended' }))[1]).toBe(
      '✗ alpha has already ended',
    );
    cleanup();
    expect(lines(show(LIST, { kind: 'pending', text: 'stopping alpha…' }))[1]).toBe('… stopping alpha…');
    cleanup();
    expect(lines(show(LIST, { kind: 'info', text: 'alpha paused' }))[1]).toBe('✓ alpha paused');
  });

  it('keeps two lines without a notice', () => {
    const frame = show(LIST);
    expect(lines(frame)).toHaveLength(2);
    expect(lines(frame)[1]!.trim()).toBe('');
  });

  it('cuts long prompts and notices to the width', () => {
    const long = 'z'.repeat(200);
    for (const width of [20, 50, 80]) {
      const frame = show(
        { kind: 'input', purpose: 'filter', value: long },
        { kind: 'error', text: long },
        { width },
      );
      expect(widest(frame), `width ${width}:\n${frame}`).toBeLessThanOrEqual(width);
      expect(lines(frame)[1]).toMatch(/^✗ z+…$/);
      cleanup();
    }
  });

  describe('colour', () => {
    it('is emitted at all in this test (else the checks below prove nothing)', () => {
      const r = render(<Text color="red">red</Text>);
      expect(r.lastFrame()).toMatch(FOREGROUND);
    });

    it('tints notices when colour is on', () => {
      expect(show(LIST, { kind: 'error', text: 'boom' }, { color: true })).toMatch(FOREGROUND);
      cleanup();
      expect(show(LIST, { kind: 'pending', text: 'wait' }, { color: true })).toMatch(FOREGROUND);
      cleanup();
      expect(show(LIST, { kind: 'info', text: 'fine' }, { color: true })).toMatch(FOREGROUND);
    });

    it('emits no colour at all under NO_COLOR, whatever the notice and mode', () => {
      const notices: Notice[] = [
        { kind: 'error', text: 'boom' },
        { kind: 'pending', text: 'wait' },
        { kind: 'info', text: 'fine' },
      ];
      const modes: Mode[] = [
        LIST,
        { kind: 'confirm-stop', key: 'local/a', task: 'a' },
        { kind: 'input', purpose: 'filter', value: 'x' },
        { kind: 'pick-location', folder: '.', agent: 'claude', choice: 0 },
      ];
      for (const notice of notices) {
        for (const mode of modes) {
          const frame = show(mode, notice, { color: false, locations: ['local', 'vps1'] });
          expect(frame, `${mode.kind} / ${notice.kind}`).not.toMatch(FOREGROUND);
          expect(frame).toContain(notice.text);
          cleanup();
        }
      }
      // Attributes stay: the list's hints are dim, a question is bold.
      expect(show(LIST, null, { color: false })).toContain('\x1b[2m');
      cleanup();
      expect(show({ kind: 'confirm-stop', key: 'local/a', task: 'a' }, null, { color: false })).toContain(
        '\x1b[1m',
      );
    });
  });
});
