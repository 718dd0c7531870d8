/**
 * What the loops say reaches the screen paced: the fleet's changes and the selected loop's refreshed detail,
 * however they interleave, draw at most one frame per FRAME_MS, and that frame shows the newest of each.
 */
import { EventEmitter } from 'node:events';
import { Text } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Fleet, FleetRow, LoopDetail } from '../../src/client/fleet/index.js';
import { TuiProvider, useTuiActions, useTuiState } from '../state/context.js';
import { FRAME_MS } from '../state/frame-pacer.js';
import type { TuiAction } from '../state/types.js';
import { makeDetail, makeRow, makeScreen } from '../test-fixtures.js';
import { useDetail } from './useDetail.js';
import { useFleetRows } from './useFleetRows.js';

// Only the timers the hooks use are faked: React schedules its renders on real turns of the event loop.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

/** Lets React render what the last timers set off. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Moves the fake clock on `ms` in steps of 50 ms (timers due now first), letting React render after each. */
async function pass(ms: number): Promise<void> {
  for (let t = 0; t <= ms; t += 50) {
    await vi.advanceTimersByTimeAsync(t === 0 ? 0 : 50);
    await settle();
  }
}

/** The fake clock's time when the test started. */
let t0 = 0;

/** A fleet of one loop whose last line and screen say how many times it has changed. */
class FakeFleet extends EventEmitter {
  started = false;
  version = 0;
  rowsBuilt = 0;

  rows(): FleetRow[] {
    this.rowsBuilt += 1;
    return [makeRow({ task: 'alpha', lastLine: `line ${this.version}` })];
  }

  start(): Promise<{ crashed: [] }> {
    this.started = true;
    return Promise.resolve({ crashed: [] });
  }

  detail(): Promise<LoopDetail> {
    return Promise.resolve(makeDetail({ screen: makeScreen([`screen ${this.version}`]) }));
  }

  /** The loop printed a line; the fleet says so (as it does, batched, every 250 ms or so). */
  printed(): void {
    this.version += 1;
    this.emit('change');
  }
}

/** Records each render as "<ms since the start>: <last line> | <detail's first screen line>". */
function Probe({
  frames,
  keys,
  detailMs,
}: {
  frames: string[];
  keys: { dispatch?: (a: TuiAction) => void };
  detailMs: number;
}) {
  useFleetRows();
  const state = useTuiState();
  keys.dispatch = useTuiActions().dispatch;
  const row = state.rows[0] ?? null;
  const { detail } = useDetail(row, detailMs);
  const notice = state.notice ? ` | ${state.notice.text}` : '';
  frames.push(`${Date.now() - t0}: ${row?.lastLine ?? '-'} | ${detail?.screen?.lines[0] ?? '-'}${notice}`);
  return <Text>{row?.lastLine ?? '-'}</Text>;
}

/** The app's state around a probe; the detail is read again every `detailMs`. */
function start(detailMs = 1000): {
  fleet: FakeFleet;
  frames: string[];
  keys: { dispatch?: (a: TuiAction) => void };
} {
  const fleet = new FakeFleet();
  const frames: string[] = [];
  const keys: { dispatch?: (a: TuiAction) => void } = {};
  t0 = Date.now();
  render(
    <TuiProvider fleet={fleet as unknown as Fleet} color={false}>
      <Probe frames={frames} keys={keys} detailMs={detailMs} />
    </TuiProvider>,
  );
  return { fleet, frames, keys };
}

describe('live data on its way to the screen', () => {
  it('shows the first rows and the first detail at once', async () => {
    const { frames } = start();
    await settle();
    expect(frames.at(-1)).toBe('0: line 0 | screen 0');
  });

  it('draws one frame for the changes of one interval, with the rows as they are at its end', async () => {
    const { fleet, frames } = start(60_000);
    await pass(FRAME_MS);
    const before = frames.length;
    // The first change draws at once (the last paced frame is an interval old); the next four wait for the next
    // (the detail is not read again meanwhile).
    for (let i = 0; i < 5; i++) {
      fleet.printed();
      await pass(100);
    }
    expect(frames.slice(before)).toEqual([
      `${FRAME_MS}: line 1 | screen 0`,
      `${FRAME_MS * 2}: line 5 | screen 0`,
    ]);
    // The rows were built for the frames, not for every change.
    expect(fleet.rowsBuilt).toBe(3);
  });

  it('draws a refreshed detail with the rows, not in a frame of its own', async () => {
    const { fleet, frames } = start();
    await pass(600);
    const before = frames.length;
    // The fleet changes every 250 ms from 600 on, and the detail is read again every second (at 1000 and 2000):
    // each read is shown with the rows of the next frame, two frames a second and none for the detail alone.
    for (let i = 0; i < 8; i++) {
      fleet.printed();
      await pass(250);
    }
    expect(frames.slice(before)).toEqual([
      '600: line 1 | screen 0',
      '1100: line 2 | screen 2',
      '1600: line 4 | screen 2',
      '2100: line 6 | screen 6',
      '2600: line 8 | screen 6',
    ]);
  });

  it('draws what a key does at once, between paced frames', async () => {
    const { fleet, frames, keys } = start(60_000);
    await pass(FRAME_MS);
    fleet.printed();
    await pass(100);
    // This change waits for the next paced frame; the key's notice does not.
    fleet.printed();
    await settle();
    const before = frames.length;
    keys.dispatch?.({ type: 'notice', notice: { kind: 'info', text: 'hello' } });
    await settle();
    expect(frames.slice(before)).toEqual([`${FRAME_MS + 100}: line 1 | screen 0 | hello`]);
  });
});
