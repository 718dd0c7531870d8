import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FleetRow, LoopDetail } from '../../src/client/fleet/index.js';
import type { DetailTab } from '../state/types.js';
import {
  endedRow,
  FOREGROUND,
  lines,
  makeDetail,
  makeIteration,
  makeRow,
  makeScreen,
  makeStory,
  widest,
} from '../test-fixtures.js';
import { DetailPane, type DetailPaneProps } from './DetailPane.js';

vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

afterEach(cleanup);

const alpha = makeRow({ task: 'alpha' });

/** Height 12: the border takes two lines and the title one, which leaves nine for the view. */
function show(
  props: Partial<DetailPaneProps> & { row: FleetRow | null; detail: LoopDetail | null; tab?: DetailTab },
): string {
  const r = render(
    <DetailPane loading={false} tab="screen" scroll={0} width={80} height={12} color={false} {...props} />,
  );
  return r.lastFrame() ?? '';
}

const numbered = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`);

describe('DetailPane', () => {
  it('names the loop and the views in its title', () => {
    const frame = show({ row: alpha, detail: makeDetail(), tab: 'output' });
    const title = lines(frame)[1]!;
    expect(title).toContain('alpha · local');
    expect(title).toContain('[2 output]');
    expect(title).toContain(' 1 screen ');
    expect(title).not.toContain('ended');
    cleanup();
    const ended = show({
      row: endedRow({ task: 'alpha', status: 'completed' }),
      detail: makeDetail({ source: 'files' }),
    });
    expect(lines(ended)[1]).toContain('alpha · local · ended');
  });

  it('shows the bottom of the screen, without its trailing blank lines', () => {
    const screen = makeScreen([...numbered('line', 20), '', '   ', '']);
    const frame = show({ row: alpha, detail: makeDetail({ screen }) });
    // Nine lines of room: line-12 to line-20.
    expect(frame).toContain('line-20');
    expect(frame).toContain('line-12');
    expect(frame).not.toContain('line-11');
    expect(frame).not.toContain('lines below');
    // The last screen line sits right above the bottom border.
    const plain = lines(frame);
    const at = plain.findIndex((l) => l.includes('line-20'));
    expect(plain[at + 1]).toMatch(/^└/);
  });

  it('shows a blank screen and a missing one', () => {
    expect(show({ row: alpha, detail: makeDetail({ screen: makeScreen(['', ' ']) }) })).toContain(
      '(the screen is blank)',
    );
    cleanup();
    expect(show({ row: alpha, detail: makeDetail() })).toContain('no screen to show');
  });

  it('scrolls the output view back through history and says how much is below', () => {
    const screen = makeScreen(numbered('screen', 5), numbered('history', 30));
    const following = show({ row: alpha, detail: makeDetail({ screen }), tab: 'output' });
    expect(following).toContain('screen-05');
    expect(following).not.toContain('lines below');
    cleanup();

    const back = show({ row: alpha, detail: makeDetail({ screen }), tab: 'output', scroll: 10 });
    expect(back).toContain('── 10 lines below (End to follow) ──');
    expect(back).not.toContain('screen-05');
    // Eight lines of text above the marker, ending ten lines from the bottom (history-25).
    expect(back).toContain('history-25');
    expect(back).toContain('history-18');
    expect(back).not.toContain('history-26');
    expect(back).not.toContain('history-17');
  });

  it('ignores history and scroll in the screen view', () => {
    const screen = makeScreen(numbered('screen', 5), numbered('history', 30));
    const frame = show({ row: alpha, detail: makeDetail({ screen }), tab: 'screen', scroll: 10 });
    expect(frame).toContain('screen-05');
    expect(frame).not.toContain('history');
    expect(frame).not.toContain('lines below');
  });

  it('shows the iterations as a table, with the cost of each and the total', () => {
    const usage = (cost: number, tokens: number) => ({
      input_tokens: tokens,
      output_tokens: 500,
      cached_input_tokens: 0,
      cache_write_tokens: 0,
      cost_usd: cost,
      model: 'claude-sonnet-4-5',
    });
    const iterations = [
      makeIteration(1, { usage: usage(0.02, 12_000) }),
      makeIteration(2, {
        exit_code: 1,
        outcome: 'no_progress',
        story_before: 'S2',
        story_after: 'S2',
        usage: usage(0.0213, 20_000),
      }),
      makeIteration(3, {
        ended_at: null,
        exit_code: null,
        story_before: 'S2',
        story_after: null,
        outcome: 'running',
      }),
    ];
    const frame = show({ row: alpha, detail: makeDetail({ iterations }), tab: 'iterations' });
    const plain = lines(frame);
    expect(plain.find((l) => l.includes('STARTED'))).toMatch(
      /#\s+STARTED\s+TOOK\s+EXIT\s+STORY\s+COST\s+OUTCOME/,
    );
    expect(plain.find((l) => /│1 /.test(l))).toMatch(
      /1\s+10:00:00\s+1m30s\s+0\s+S1→S2\s+\$0\.0200\s+story_passed/,
    );
    expect(plain.find((l) => /│2 /.test(l))).toMatch(
      /2\s+10:00:00\s+1m30s\s+1\s+S2→S2\s+\$0\.0213\s+no_progress/,
    );
    expect(plain.find((l) => /│3 /.test(l))).toMatch(/3\s+10:00:00\s+…\s+-\s+S2→…\s+-\s+running/);
    expect(plain.find((l) => l.includes('total'))).toMatch(/total \$0\.0413 · 33\.0k tokens/);
  });

  it('says when there is no iteration history', () => {
    expect(show({ row: alpha, detail: makeDetail({ iterations: [] }), tab: 'iterations' })).toContain(
      'no iteration has started yet',
    );
    cleanup();
    expect(show({ row: alpha, detail: makeDetail(), tab: 'iterations' })).toContain(
      'no iteration history to show',
    );
  });

  it('shows the stories with their marks and how many pass', () => {
    const stories = [makeStory('S1', true), makeStory('S2', false), makeStory('S3', false)];
    const frame = show({
      row: alpha,
      detail: makeDetail({ stories, currentStory: 'S2' }),
      tab: 'stories',
    });
    expect(frame).toContain('1/3 stories pass');
    expect(frame).toContain('✓ S1  story S1');
    expect(frame).toContain('▸ S2  story S2');
    expect(frame).toContain('· S3  story S3');
  });

  it('shows the problems above the view', () => {
    const frame = show({
      row: alpha,
      detail: makeDetail({
        screen: makeScreen(['still here']),
        problems: ['stories: timed out after 3000 ms', 'iterations: refused'],
      }),
    });
    expect(frame).toContain('stories: timed out after 3000 ms; iterations: refused');
    expect(frame).toContain('still here');
  });

  it('says what it is reading before the first detail arrives', () => {
    expect(show({ row: alpha, detail: null, loading: true })).toContain('reading alpha…');
    cleanup();
    const idle = show({ row: alpha, detail: null, loading: false });
    expect(idle).toContain('nothing to show');
    expect(idle).not.toContain('reading');
  });

  it('asks for a selection when there is no row', () => {
    const frame = show({ row: null, detail: null });
    expect(frame).toContain('select a loop to see it here');
    expect(frame).toContain('no loop');
  });

  it('shows why a remote loop cannot be reached', () => {
    const reason = 'task far is on remote vps1 over ziti, which this client cannot reach yet';
    const row = makeRow({ task: 'far', location: 'vps1', link: { state: 'unreachable', reason } });
    const frame = show({ row, detail: makeDetail({ source: 'none', problems: [reason] }), width: 100 });
    expect(lines(frame)[1]).toContain('far · vps1');
    expect(frame).toContain(reason);
    expect(frame).toContain('no screen to show');
  });

  it('keeps every line within its width', () => {
    const long = 'y'.repeat(300);
    const detail = makeDetail({
      screen: makeScreen([long, long], [long]),
      iterations: [makeIteration(1, { outcome: long })],
      stories: [makeStory('S1', false, long)],
      currentStory: 'S1',
      problems: [long],
    });
    const row = makeRow({ task: 'a-task-with-a-rather-long-name' });
    for (const tab of ['screen', 'output', 'iterations', 'stories'] as const) {
      for (const width of [40, 64, 80, 100]) {
        const frame = show({ row, detail, tab, width, scroll: tab === 'output' ? 1 : 0 });
        expect(widest(frame), `${tab} at ${width}:\n${frame}`).toBeLessThanOrEqual(width);
        cleanup();
      }
    }
  });

  it('keeps its right border with text of double-width characters', () => {
    // Lines are cut to the width by their length; such a line is twice as wide as the pane.
    const wide = '漢字テキスト'.repeat(30);
    const detail = makeDetail({ screen: makeScreen([wide, `ab${wide}`]), problems: [wide] });
    for (const width of [40, 41, 80]) {
      const frame = show({ row: alpha, detail, width });
      const inside = lines(frame).slice(1, -1);
      expect(inside.length).toBeGreaterThan(3);
      for (const line of inside) expect(line.trimEnd(), `at ${width}:\n${frame}`).toMatch(/│$/);
      cleanup();
    }
  });

  it('tints problems and stories only when colour is on', () => {
    const detail = makeDetail({
      stories: [makeStory('S1', true), makeStory('S2', false)],
      currentStory: 'S2',
      problems: ['something failed'],
    });
    expect(show({ row: alpha, detail, tab: 'stories', color: true })).toMatch(FOREGROUND);
    cleanup();
    expect(show({ row: alpha, detail, tab: 'stories', color: false })).not.toMatch(FOREGROUND);
  });
});
