import { Text } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { useEffect, useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from './useClock.js';

// Only the timers the components use are faked: React schedules its renders on real turns of the event loop.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

/** Moves the fake clock on in small steps, letting React render after each. */
async function pass(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    vi.advanceTimersByTime(50);
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Shows the clock's time and counts its renders; `busyMs` makes it redraw that often for reasons of its own. */
function Probe({ busyMs, renders }: { busyMs: number | null; renders: number[] }) {
  const now = useClock(1000);
  const [, setOther] = useState(0);
  renders.push(now);
  useEffect(() => {
    if (busyMs === null) return;
    const timer = setInterval(() => setOther((n) => n + 1), busyMs);
    return () => clearInterval(timer);
  }, [busyMs]);
  return <Text>{String(now)}</Text>;
}

describe('useClock', () => {
  it('redraws once a second when nothing else does, with the time of each redraw', async () => {
    const renders: number[] = [];
    const start = Date.now();
    render(<Probe busyMs={null} renders={renders} />);
    await pass(3500);
    expect(renders.map((t) => t - start)).toEqual([0, 1000, 2000, 3000]);
  });

  it('adds no redraw of its own while something else redraws more often, and its time stays current', async () => {
    const renders: number[] = [];
    const start = Date.now();
    render(<Probe busyMs={400} renders={renders} />);
    await pass(4100);
    // Ten redraws from the component's own timer and the first one: none from the clock.
    expect(renders.map((t) => t - start)).toEqual([
      0, 400, 800, 1200, 1600, 2000, 2400, 2800, 3200, 3600, 4000,
    ]);
  });
});
