/** Rate limits: the loop waits for the reset the agent names, resumes the same story, and loops on one agent wait together. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IterationLog } from '../../src/loop/iteration-log.js';
import { iterationOutcomes, makeTask, Sandbox, startInProcess, storyPasses, waitFor } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

/** Agent starts recorded by the fake agent: [epoch ms, task folder, iteration]. */
function starts(file: string): [number, string, number][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([at, task, n]) => [Number(at), task ?? '', Number(n)]);
}

describe('rate limits', () => {
  it('waits until the reset the agent names, then runs the same story again', async () => {
    const startsFile = join(sb.root, 'starts.log');
    const task = await makeTask(sb, {
      stories: 2,
      script: {
        iterations: [[{ recordStart: startsFile }, { usageLimit: { resetInMs: 5000 } }, { exit: 1 }]],
        steps: [{ recordStart: startsFile }, { passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 3 });
    await waitFor(() => loop.runner.state.status === 'waiting', 'the loop to wait', 15_000);
    const waitingUntil = loop.runner.state.waitingUntil;
    expect(waitingUntil).not.toBeNull();
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'waiting', waitingUntil });
    const note = JSON.parse(readFileSync(join(sb.paths.dataDir, 'rate-limits', 'custom.json'), 'utf8')) as {
      resetAt: string;
      task: string;
    };
    expect(note).toMatchObject({ resetAt: waitingUntil, task: task.name });

    const final = await loop.finished(40_000);
    expect(final).toMatchObject({ status: 'completed', storiesPassing: 2, waitingUntil: null });
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records.map((r) => [r.outcome, r.storyBefore])).toEqual([
      ['rate_limited', 'US-001'],
      ['progress', 'US-001'],
      ['completed', 'US-002'],
    ]);
    // The wasted iteration is not charged: the limit grew by one, so both stories still fit.
    expect(final.maxIterations).toBe(4);
    const statuses = loop.states.flatMap((s) => (s.status === undefined ? [] : [s.status]));
    expect(statuses).toEqual(['running', 'waiting', 'running', 'completed']);
    const runs = starts(startsFile);
    expect(runs).toHaveLength(3);
    const resetAt = Date.parse(waitingUntil!);
    console.log(`second agent started ${runs[1]![0] - resetAt} ms after the announced reset`);
    expect(runs[1]![0]).toBeGreaterThanOrEqual(resetAt);
    expect(storyPasses(task.dir)).toEqual([true, true]);
  }, 60_000);

  it('makes another loop on the same agent wait too, without running its agent', async () => {
    const startsFile = join(sb.root, 'starts.log');
    const first = await makeTask(sb, {
      name: 'first',
      script: {
        iterations: [[{ recordStart: startsFile }, { usageLimit: { resetInMs: 5000 } }, { exit: 1 }]],
        steps: [{ recordStart: startsFile }, { passStory: 'current' }],
      },
    });
    const second = await makeTask(sb, {
      name: 'second',
      script: [{ recordStart: startsFile }, { passStory: 'current' }],
    });
    const a = await startInProcess(sb, first, { maxIterations: 3 });
    await waitFor(() => a.runner.state.status === 'waiting', 'the first loop to wait', 15_000);
    const resetAt = Date.parse(a.runner.state.waitingUntil!);
    const b = await startInProcess(sb, second, { maxIterations: 3 });
    await waitFor(() => b.runner.state.status === 'waiting', 'the second loop to wait', 15_000);
    expect(b.runner.state.waitingUntil).toBe(a.runner.state.waitingUntil);
    // While the limit holds, the second loop has started no agent.
    expect(starts(startsFile).filter(([, t]) => t === 'second')).toEqual([]);
    expect(b.agentPids).toEqual([]);

    const [finalA, finalB] = await Promise.all([a.finished(40_000), b.finished(40_000)]);
    expect(finalA.status).toBe('completed');
    expect(finalB).toMatchObject({ status: 'completed', iteration: 1 });
    const secondRuns = starts(startsFile).filter(([, t]) => t === 'second');
    expect(secondRuns).toHaveLength(1);
    console.log(`second loop's agent started ${secondRuns[0]![0] - resetAt} ms after the shared reset`);
    expect(secondRuns[0]![0]).toBeGreaterThanOrEqual(resetAt);
    const statuses = b.states.flatMap((s) => (s.status === undefined ? [] : [s.status]));
    expect(statuses).toEqual(['running', 'waiting', 'running', 'completed']);
  }, 60_000);

  it("takes the reset time from the agent's structured stream when it reports one", async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [[{ replay: { file: 'claude-rate-limit.ndjson', resetsInS: 3 } }, { exit: 1 }]],
        steps: [{ passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task, { streamFormat: 'claude', maxIterations: 2 });
    await waitFor(() => loop.runner.state.status === 'waiting', 'the loop to wait', 15_000);
    // The stream's resetsAt (3 s ahead), not the "resets 2pm (UTC)" of the result text, which is hours away
    // unless the test runs just before 2pm UTC.
    const until = Date.parse(loop.runner.state.waitingUntil!);
    expect(until).toBeLessThan(Date.now() + 60_000);
    const final = await loop.finished(30_000);
    expect(final.status).toBe('completed');
    expect(iterationOutcomes(loop.dir)).toEqual(['rate_limited', 'completed']);
    expect(readFileSync(join(loop.dir, 'output.log'), 'utf8')).toContain(
      'rate limit reached: rate limit rejected (five_hour)',
    );
  }, 60_000);

  it('stops at once when asked while waiting', async () => {
    const task = await makeTask(sb, {
      script: [{ usageLimit: { resetInMs: 3_600_000 } }, { exit: 1 }],
    });
    const loop = await startInProcess(sb, task, { maxIterations: 3 });
    await waitFor(() => loop.runner.state.status === 'waiting', 'the loop to wait', 15_000);
    loop.runner.stop();
    const final = await loop.finished(10_000);
    expect(final).toMatchObject({ status: 'stopped', iteration: 1 });
  });
});
