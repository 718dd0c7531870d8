/** How a loop ends: completion, exhaustion, repeated agent failures, and the completion promise. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareLoop } from '../../src/client/start.js';
import { IterationLog } from '../../src/loop/iteration-log.js';
import { LoopRunner } from '../../src/loop/runner.js';
import { makeTask, Sandbox, startInProcess, storyPasses, Watcher, iterationOutcomes } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const outcomes = iterationOutcomes;

/** A runner for the task in this process, not started: for what it says before and as its loop begins. */
async function runnerFor(task: Awaited<ReturnType<typeof makeTask>>): Promise<LoopRunner> {
  const prepared = await prepareLoop(
    {
      taskDir: task.dir,
      agent: 'custom',
      agentCommand: task.agentCommand,
      maxIterations: 2,
      cols: 80,
      rows: 24,
    },
    sb.paths,
  );
  return new LoopRunner(prepared.launch.config, prepared.launch.dir);
}

describe('loop outcomes', () => {
  it('completes when the agent passes one story per iteration', async () => {
    const task = await makeTask(sb, { stories: 3, script: [{ print: 'working' }, { passStory: 'current' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 5 });
    const final = await loop.finished();

    expect(final).toMatchObject({
      status: 'completed',
      exitReason: 'all stories pass',
      iteration: 3,
      storiesTotal: 3,
      storiesPassing: 3,
      currentStory: null,
      agentPid: null,
    });
    expect(storyPasses(task.dir)).toEqual([true, true, true]);
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records.map((r) => [r.number, r.storyBefore, r.storyAfter, r.outcome, r.exitCode])).toEqual([
      [1, 'US-001', 'US-002', 'progress', 0],
      [2, 'US-002', 'US-003', 'progress', 0],
      [3, 'US-003', null, 'completed', 0],
    ]);
    // Iterations tile the output log: each starts where the previous ended.
    // Each iteration's output begins with its banner.
    const raw = readFileSync(join(loop.dir, 'output.log'));
    for (const r of records) {
      expect(raw.subarray(r.startOffset, r.startOffset + 200).toString()).toContain(
        `ralph: iteration ${r.number}/`,
      );
    }
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.startOffset).toBeGreaterThanOrEqual(records[i - 1]!.endOffset!);
      expect(records[i]!.startOffset).toBeGreaterThan(records[i - 1]!.startOffset);
    }
    expect(loop.iterations.map((r) => r.outcome)).toEqual(['progress', 'progress', 'completed']);
    const passing = loop.states.flatMap((s) => (s.storiesPassing === undefined ? [] : [s.storiesPassing]));
    expect(passing).toEqual([1, 2, 3]);

    expect(sb.registryRow(loop.session.id)).toMatchObject({
      status: 'completed',
      iteration: 3,
      exitReason: 'all stories pass',
      agent: 'custom',
      taskDir: task.dir,
    });
    const log = readFileSync(join(loop.dir, 'output.log'), 'utf8');
    expect(log).toContain('passed US-001');
    expect(log).toContain('loop completed: all stories pass');
  });

  it('a task whose stories all pass has ended before the loop first yields, so no client sees it running', async () => {
    const task = await makeTask(sb, { stories: 2, git: true });
    const file = join(task.dir, 'prd.json');
    const prd = JSON.parse(readFileSync(file, 'utf8')) as { userStories: { passes: boolean }[] };
    for (const story of prd.userStories) story.passes = true;
    writeFileSync(file, JSON.stringify(prd));
    const runner = await runnerFor(task);
    try {
      // A request is served only between turns of the event loop: what the state says when run() hands back
      // control is the first thing a client can be told.
      const running = runner.run();
      expect(runner.state).toMatchObject({
        status: 'completed',
        exitReason: 'all stories pass',
        iteration: 0,
      });
      expect(await running).toMatchObject({ status: 'completed', exitReason: 'all stories pass' });
    } finally {
      runner.close();
    }
  });

  it('knows the story counts before its first iteration, for a status asked at once', async () => {
    const task = await makeTask(sb, { stories: 3, script: [{ print: 'x' }] });
    const runner = await runnerFor(task);
    try {
      expect(runner.state).toMatchObject({
        status: 'starting',
        storiesTotal: 3,
        storiesPassing: 0,
        currentStory: 'US-001',
      });
    } finally {
      runner.close();
    }
  });

  it('reports progress to a subscribed client and closes it when the loop ends', async () => {
    const task = await makeTask(sb, {
      stories: 2,
      script: [{ print: 'step' }, { sleep: 200 }, { passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task);
    const w = await Watcher.open(sb, loop.socketPath);
    await w.client.request('subscribe', { events: ['*'] });
    const status = await w.client.request('get_status');
    expect(status).toMatchObject({
      task_name: task.name,
      agent: 'custom',
      stories_total: 2,
      max_iterations: 5,
    });
    await loop.finished();
    await w.until((x) => x.closed !== null, 'the connection to close');
    const last = w.events.filter((e) => e.type === 'state_change').at(-1)?.data;
    expect(last).toMatchObject({ status: 'completed', exit_reason: 'all stories pass' });
    const disconnect = w.events.at(-1);
    expect(disconnect?.type).toBe('disconnect');
    // Each iteration is announced as it starts and again as it ends.
    const announced = w.events
      .filter((e) => e.type === 'iteration')
      .map((e) => e.data as Record<string, unknown>);
    const second = announced.filter((r) => r.number === 2).map((r) => r.outcome);
    expect(second).toEqual(['running', 'completed']);
  });

  it('is exhausted when the agent never makes progress', async () => {
    const task = await makeTask(sb, { stories: 2, script: [{ print: 'thinking about it' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 3 });
    const final = await loop.finished();
    expect(final).toMatchObject({
      status: 'exhausted',
      exitReason: 'reached the limit of 3 iterations',
      iteration: 3,
      storiesPassing: 0,
    });
    expect(outcomes(loop.dir)).toEqual(['no_progress', 'no_progress', 'no_progress']);
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'exhausted', iteration: 3 });
  });

  it('fails after max consecutive crashes (exit code 1)', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ print: 'about to crash' }, { crash: true }] });
    const loop = await startInProcess(sb, task, { maxIterations: 10, maxConsecutiveFailures: 2 });
    const final = await loop.finished();
    expect(final.status).toBe('failed');
    expect(final.exitReason).toBe('2 consecutive failed iterations (last: error)');
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records.map((r) => [r.outcome, r.exitCode, r.signal])).toEqual([
      ['error', 1, null],
      ['error', 1, null],
    ]);
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'failed', iteration: 2 });
  });

  it('fails after max consecutive deaths by signal', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ signal: 'SIGKILL' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 10, maxConsecutiveFailures: 3 });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'failed', iteration: 3 });
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records.map((r) => [r.outcome, r.exitCode, r.signal])).toEqual(
      Array.from({ length: 3 }, () => ['error', null, 'SIGKILL']),
    );
  });

  it('does not fail when a crash is followed by a good iteration', async () => {
    const task = await makeTask(sb, {
      stories: 2,
      script: {
        iterations: [
          [{ crash: true }],
          [{ passStory: 'current' }],
          [{ exit: 3 }],
          [{ passStory: 'current' }],
        ],
      },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 6, maxConsecutiveFailures: 2 });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 4 });
    expect(outcomes(loop.dir)).toEqual(['error', 'progress', 'error', 'completed']);
  });

  it('tells a rate limit from other failures, and does not charge it', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [
          [{ print: 'working' }, { rateLimit: { retryAfter: 1 } }, { exit: 1 }],
          [{ rateLimit: true }, { exit: 0 }],
          [{ exit: 1 }],
        ],
      },
    });
    const loop = await startInProcess(sb, task, {
      maxIterations: 3,
      maxConsecutiveFailures: 3,
      stallAfter: 0,
    });
    const final = await loop.finished();
    // The rate-limited iteration gave its place back: four iterations ran within a limit of three.
    expect(final).toMatchObject({ status: 'exhausted', iteration: 4, maxIterations: 4 });
    // A rate-limit message matters only when the agent failed; printed by an agent that exits 0 it is output.
    expect(outcomes(loop.dir)).toEqual(['rate_limited', 'no_progress', 'error', 'no_progress']);
  });
});

describe('the completion promise', () => {
  it('is not trusted while stories still fail', async () => {
    const task = await makeTask(sb, { stories: 2, script: [{ print: 'all done!' }, { promise: true }] });
    const loop = await startInProcess(sb, task, { maxIterations: 2 });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'exhausted', storiesPassing: 0 });
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    for (const r of records) {
      expect(r).toMatchObject({ outcome: 'no_progress', promiseSeen: true });
      expect(r.note).toMatch(/completion promise but prd\.json still has failing stories; not trusted/);
    }
    expect(readFileSync(join(loop.dir, 'output.log'), 'utf8')).toContain('not trusted');
    expect(storyPasses(task.dir)).toEqual([false, false]);
  });

  it('completes the loop when trustPromise is set', async () => {
    const task = await makeTask(sb, { stories: 2, script: [{ promise: true }] });
    const loop = await startInProcess(sb, task, { maxIterations: 4, trustPromise: true });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 1, storiesPassing: 0 });
    expect(final.exitReason).toMatch(/promise trusted/);
    const [record] = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(record).toMatchObject({ outcome: 'completed', promiseSeen: true });
    expect(record!.note).toMatch(/trusted although prd\.json still has failing stories/);
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'completed' });
  });
});
