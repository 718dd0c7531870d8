/** A hung or silent agent is killed by the iteration or idle timeout, and the loop goes on. */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IterationLog } from '../../src/loop/iteration-log.js';
import { isAlive } from '../../src/util/proc.js';
import { LongTimer } from '../../src/util/long-timer.js';
import { prepareLoop } from '../../src/client/start.js';
import { makeTask, Sandbox, startInProcess } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

describe('iteration timeouts', () => {
  it('kills an agent that runs past the iteration timeout, then moves on', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [[{ print: 'stuck forever' }, { hang: true }]],
        steps: [{ passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task, {
      iterationTimeoutMs: 2000,
      idleTimeoutMs: 0,
      maxIterations: 4,
    });
    const final = await loop.finished();

    expect(final.status).toBe('completed');
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records[0]).toMatchObject({ outcome: 'timeout', signal: 'SIGTERM', exitCode: null });
    expect(records.at(-1)).toMatchObject({ outcome: 'completed', exitCode: 0 });
    expect(isAlive(loop.agentPids[0]!)).toBe(false);
    expect(loop.logs.join('\n')).toContain('killing the agent: 2000 ms iteration timeout reached');
  });

  it('kills an agent that stays silent past the idle timeout, then moves on', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [[{ print: 'thinking quietly' }, { silence: 120_000 }]],
        steps: [{ passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task, {
      iterationTimeoutMs: 0,
      idleTimeoutMs: 1500,
      maxIterations: 4,
    });
    const final = await loop.finished();

    expect(final.status).toBe('completed');
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records[0]).toMatchObject({ outcome: 'idle_timeout', signal: 'SIGTERM' });
    expect(records.at(-1)).toMatchObject({ outcome: 'completed', exitCode: 0 });
    expect(isAlive(loop.agentPids[0]!)).toBe(false);
    expect(loop.logs.join('\n')).toContain('killing the agent: 1500 ms idle timeout reached');
  });

  it('keeps an agent that prints regularly alive past the idle timeout', async () => {
    const ticks = Array.from({ length: 15 }, (_, i) => [{ print: `tick ${i}` }, { sleep: 200 }]).flat();
    const task = await makeTask(sb, { stories: 1, script: [...ticks, { passStory: 'current' }] });
    const loop = await startInProcess(sb, task, {
      iterationTimeoutMs: 0,
      idleTimeoutMs: 2000,
      maxIterations: 1,
    });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 1 });
  });

  it('fails the loop when every iteration hangs', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ hang: true }] });
    const loop = await startInProcess(sb, task, {
      iterationTimeoutMs: 0,
      idleTimeoutMs: 1000,
      maxIterations: 5,
      maxConsecutiveFailures: 2,
    });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'failed', iteration: 2 });
    expect(final.exitReason).toBe('2 consecutive failed iterations (last: idle_timeout)');
    for (const pid of loop.agentPids) expect(isAlive(pid)).toBe(false);
  });
});

describe('long and short timeouts', () => {
  const DAY = 86_400_000;

  it('a 25-day idle and iteration timeout lets a slow iteration finish', async () => {
    // 25 days is over 2^31 ms: a plain setTimeout fires such a delay after 1 ms and kills every agent at once.
    const task = await makeTask(sb, {
      stories: 1,
      script: [{ print: 'working slowly' }, { silence: 1500 }, { passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task, {
      iterationTimeoutMs: 25 * DAY,
      idleTimeoutMs: 25 * DAY,
      maxIterations: 1,
      maxConsecutiveFailures: 1,
    });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 1 });
    const records = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(records.map((r) => r.outcome)).toEqual(['completed']);
  });

  it('a long timer waits in chunks and fires once, at its deadline, and restart moves the deadline', async () => {
    let fired = 0;
    const timer = new LongTimer(() => (fired += 1), 20);
    const begun = performance.now();
    timer.start(150);
    await new Promise((resolve) => setTimeout(resolve, 90));
    expect(fired).toBe(0);
    timer.restart();
    await new Promise((resolve) => setTimeout(resolve, 90));
    expect(fired).toBe(0);
    expect(timer.pending).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fired).toBe(1);
    expect(timer.pending).toBe(false);
    console.log(`long timer with 20 ms chunks fired after ${Math.round(performance.now() - begun)} ms`);
  });

  it.each([
    ['idleTimeoutMs', 0.4],
    ['idleTimeoutMs', 999],
    ['iterationTimeoutMs', 366 * DAY],
  ])('start refuses %s = %d ms', async (field, ms) => {
    const task = await makeTask(sb);
    await expect(
      prepareLoop(
        { taskDir: task.dir, agent: 'custom', agentCommand: task.agentCommand, [field]: ms },
        sb.paths,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_DURATION', exitCode: 2 });
  });
});
