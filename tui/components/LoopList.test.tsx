import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FleetRow } from '../../src/client/fleet/index.js';
import { ago, endedRow, FOREGROUND, lines, makeRow, NOW, widest } from '../test-fixtures.js';
import { LoopList, type LoopListProps } from './LoopList.js';

// Ink's colours come from chalk, which decides at import whether to emit them; make it emit them here.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

afterEach(cleanup);

function show(props: Partial<LoopListProps> & { rows: FleetRow[] }): string {
  const r = render(
    <LoopList
      selectedKey={props.rows[0]?.key ?? null}
      width={80}
      height={8}
      now={NOW}
      color={false}
      ready
      filter=""
      total={props.rows.length}
      {...props}
    />,
  );
  return r.lastFrame() ?? '';
}

/** The plain line that shows `task`. */
function lineOf(frame: string, task: string): string {
  const line = lines(frame).find((l) => l.includes(task));
  if (line === undefined) throw new Error(`no line shows ${task}:\n${frame}`);
  return line.trimEnd();
}

const alpha = makeRow({
  task: 'alpha',
  status: 'running',
  iteration: 3,
  maxIterations: 12,
  currentStory: 'S-2',
  startedAt: ago(600),
  lastLine: 'compiling things',
});
const beta = makeRow({
  task: 'beta',
  location: 'vps1',
  status: 'running',
  iteration: 7,
  maxIterations: 20,
  startedAt: ago(3 * 3600),
  link: { state: 'unreachable', reason: 'no route' },
});

describe('LoopList', () => {
  it('shows each column of a row', () => {
    const frame = show({ rows: [alpha, beta] });
    const a = lineOf(frame, 'alpha');
    expect(a).toMatch(/alpha\s+local\s+running\s+3\/12\s+S-2\s+10m\s+compiling things/);
    expect(a).not.toContain('✗');
    const b = lineOf(frame, 'beta');
    // A remote that cannot be reached: its name with ✗, and that as its status rather than the last known one.
    expect(b).toMatch(/beta\s+vps1 ✗\s+unreachable\s+7\/20\s+-\s+3h/);
    const header = lines(frame)[0]!;
    for (const column of ['TASK', 'WHERE', 'STATUS', 'ITER', 'STORY', 'AGE', 'LAST OUTPUT']) {
      expect(header).toContain(column);
    }
  });

  it('marks a local connection that dropped and one being opened', () => {
    const frame = show({
      rows: [
        makeRow({ task: 'lost', link: { state: 'lost', reason: 'reset', retryAt: NOW + 1000 } }),
        makeRow({ task: 'dialing', location: 'vps2', link: { state: 'connecting' } }),
      ],
    });
    expect(lineOf(frame, 'lost')).toMatch(/lost\s+local ✗\s+running/);
    expect(lineOf(frame, 'dialing')).toMatch(/dialing\s+vps2 …\s+running/);
  });

  it('points at the selected row only', () => {
    const frame = show({ rows: [alpha, beta], selectedKey: beta.key });
    expect(lineOf(frame, 'beta').startsWith('▸ beta')).toBe(true);
    expect(lineOf(frame, 'alpha').startsWith('  alpha')).toBe(true);
    expect(frame.match(/▸/g)).toHaveLength(1);
  });

  it('shows the AGENT column from 100 columns on, and not below', () => {
    const rows = [makeRow({ task: 'alpha', agent: 'codex' })];
    const wide = show({ rows, width: 100 });
    expect(lines(wide)[0]).toContain('AGENT');
    expect(lineOf(wide, 'alpha')).toContain('codex');
    cleanup();
    const narrow = show({ rows, width: 99 });
    expect(lines(narrow)[0]).not.toContain('AGENT');
    expect(lineOf(narrow, 'alpha')).not.toContain('codex');
  });

  it('shows why an ended loop ended instead of its last line', () => {
    const frame = show({
      rows: [
        endedRow({ task: 'done', status: 'completed', exitReason: 'all stories pass', lastLine: 'bye' }),
        endedRow({ task: 'quiet', status: 'stopped', exitReason: null, lastLine: 'last words' }),
      ],
    });
    expect(lineOf(frame, 'done')).toMatch(/completed .*all stories pass$/);
    expect(lineOf(frame, 'done')).not.toContain('bye');
    expect(lineOf(frame, 'quiet')).toMatch(/stopped .*last words$/);
  });

  it('says the registry is being read before it is ready', () => {
    const frame = show({ rows: [], ready: false, total: 0 });
    expect(frame).toContain('reading the registry…');
    expect(frame).not.toContain('no loops yet');
  });

  it('says there are no loops yet when the registry is empty', () => {
    const frame = show({ rows: [], ready: true, total: 0 });
    expect(frame).toContain('no loops yet');
    expect(frame).not.toContain('reading the registry');
  });

  it('says nothing matches when the filter hides every row', () => {
    const frame = show({ rows: [], ready: true, total: 3, filter: 'zzz' });
    expect(frame).toContain('no loop matches the filter "zzz"');
    expect(frame).not.toContain('no loops yet');
  });

  it('scrolls to keep the selected row in view', () => {
    const rows = Array.from({ length: 12 }, (_, i) =>
      makeRow({ task: `task-${String(i).padStart(2, '0')}` }),
    );
    // Height 5: the header and four rows.
    const bottom = show({ rows, height: 5, selectedKey: rows[9]!.key });
    const shown = lines(bottom).filter((l) => /task-\d\d/.test(l));
    expect(shown).toHaveLength(4);
    expect(lineOf(bottom, 'task-09').startsWith('▸')).toBe(true);
    expect(bottom).not.toContain('task-00');
    expect(bottom).not.toContain('task-10');
    cleanup();

    const last = show({ rows, height: 5, selectedKey: rows[11]!.key });
    expect(lineOf(last, 'task-11').startsWith('▸')).toBe(true);
    expect(lines(last).filter((l) => /task-\d\d/.test(l))).toHaveLength(4);
    cleanup();

    const top = show({ rows, height: 5, selectedKey: rows[0]!.key });
    expect(lineOf(top, 'task-00').startsWith('▸')).toBe(true);
    expect(top).toContain('task-03');
    expect(top).not.toContain('task-04');
  });

  it('keeps every line within the width it is given', () => {
    const long = 'x'.repeat(300);
    const rows = [
      makeRow({ task: 'a-very-long-task-name-indeed', currentStory: 'STORY-123456', lastLine: long }),
      makeRow({ task: 'far', location: 'a-long-remote-name', link: { state: 'unreachable', reason: long } }),
      endedRow({ task: 'gone', status: 'failed', exitReason: long, agent: 'an-agent-with-a-long-name' }),
    ];
    for (const width of [61, 70, 80, 99, 100]) {
      const frame = show({ rows, width, selectedKey: rows[1]!.key });
      expect(widest(frame), `width ${width}:\n${frame}`).toBeLessThanOrEqual(width);
      if (width >= 70) expect(lines(frame)[0]).toContain('LAST');
      cleanup();
    }
    for (const width of [30, 61, 80]) {
      const frame = show({ rows: [], ready: true, total: 2, filter: long, width });
      expect(widest(frame), `width ${width}:\n${frame}`).toBeLessThanOrEqual(width);
      cleanup();
    }
  });

  it('colours statuses only when colour is on', () => {
    const rows = [endedRow({ task: 'broke', status: 'failed' }), makeRow({ task: 'busy' })];
    expect(show({ rows, color: true })).toMatch(FOREGROUND);
    cleanup();
    const plain = show({ rows, color: false });
    expect(plain).not.toMatch(FOREGROUND);
    // The selected row stays inverted without colour.
    expect(plain).toContain('\x1b[7m');
  });
});
