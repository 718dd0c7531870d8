/** Holding and ending a loop over its socket: pause/resume, checkpoint, graceful and forced stop. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stopLoop } from '../../src/client/stop.js';
import { IterationLog } from '../../src/loop/iteration-log.js';
import { isAlive } from '../../src/util/proc.js';
import { gate, makeTask, procStat, Sandbox, seenLines, startInProcess, waitFor, Watcher } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const stateOf = (pid: number): string => procStat(pid)?.state ?? 'gone';

describe('pause and resume', () => {
  it('stops the agent process, holds the timers, and continues on resume', async () => {
    const ticks = Array.from({ length: 16 }, (_, i) => [{ print: `tick ${i}` }, { sleep: 100 }]).flat();
    const task = await makeTask(sb, { stories: 1, script: [...ticks, { passStory: 'current' }] });
    const loop = await startInProcess(sb, task, {
      idleTimeoutMs: 2000,
      iterationTimeoutMs: 0,
      maxIterations: 1,
    });
    const w = await Watcher.open(sb, loop.socketPath);
    await seenLines(loop, 'tick 1');
    const pid = loop.agentPids[0]!;

    expect(await w.client.request('pause')).toEqual({ status: 'paused' });
    await waitFor(() => stateOf(pid) === 'T', 'the agent to be stopped (state T)');
    expect(await w.client.request('get_status')).toMatchObject({ status: 'paused', paused: true });
    expect(sb.registryRow(loop.session.id)?.status).toBe('paused');
    // Longer than the idle timeout: a paused agent is not idle.
    await sleep(2500);
    expect(stateOf(pid)).toBe('T');
    expect(loop.runner.state.agentPid).toBe(pid);

    expect(await w.client.request('resume')).toEqual({ status: 'running' });
    await waitFor(() => stateOf(pid) !== 'T', 'the agent to run again');
    expect(await w.client.request('get_status')).toMatchObject({ status: 'running', paused: false });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 1 });
    expect(loop.iterations[0]).toMatchObject({ outcome: 'completed' });
  });

  it('pauses after the iteration on checkpoint and continues on resume', async () => {
    const task = await makeTask(sb, {
      stories: 3,
      script: [{ print: 'working' }, { sleep: 300 }, { passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task, { maxIterations: 5 });
    const w = await Watcher.open(sb, loop.socketPath);
    expect(await w.client.request('checkpoint')).toEqual({ status: 'checkpoint_requested' });

    await waitFor(() => loop.runner.state.status === 'paused', 'the checkpoint pause');
    const held = loop.runner.state.iteration;
    expect(held === 1 || held === 2).toBe(true);
    expect(loop.runner.state).toMatchObject({ paused: true, agentPid: null });
    expect(loop.iterations).toHaveLength(held);
    expect(await w.client.request('get_status')).toMatchObject({
      status: 'paused',
      paused: true,
      iteration: held,
    });
    await waitFor(() => sb.registryRow(loop.session.id)?.status === 'paused', 'the registry to say paused');
    expect(loop.logs.join('\n')).toContain('checkpoint: paused after the iteration');

    expect(await w.client.request('resume')).toEqual({ status: 'running' });
    expect(await loop.finished()).toMatchObject({ status: 'completed', iteration: 3 });
  });
});

describe('stop', () => {
  const script = { iterations: [gate('1')], steps: [{ passStory: 'current' }] };

  it('stops gracefully: the agent gets SIGTERM and the loop ends stopped', async () => {
    const task = await makeTask(sb, { stories: 1, script });
    const loop = await startInProcess(sb, task);
    await seenLines(loop, 'ECHO:READY');
    const row = await stopLoop(task.name, { waitMs: 15_000 }, sb.paths);
    expect(row).toMatchObject({ status: 'stopped', exitReason: 'stopped on request' });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'stopped', exitReason: 'stopped on request', iteration: 1 });
    const [record] = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(record).toMatchObject({ outcome: 'stopped', signal: 'SIGTERM' });
    expect(isAlive(loop.agentPids[0]!)).toBe(false);
  });

  it('stops with force: the agent gets SIGKILL', async () => {
    const task = await makeTask(sb, { stories: 1, script });
    const loop = await startInProcess(sb, task);
    await seenLines(loop, 'ECHO:READY');
    const row = await stopLoop(task.name, { force: true }, sb.paths);
    expect(row.status).toBe('stopped');
    await loop.finished();
    const [record] = IterationLog.read(join(loop.dir, 'iterations.json'));
    expect(record).toMatchObject({ outcome: 'stopped', signal: 'SIGKILL' });
    expect(isAlive(loop.agentPids[0]!)).toBe(false);
  });

  it('stops a paused loop', async () => {
    const task = await makeTask(sb, { stories: 1, script });
    const loop = await startInProcess(sb, task);
    await seenLines(loop, 'ECHO:READY');
    const w = await Watcher.open(sb, loop.socketPath);
    await w.client.request('pause');
    await waitFor(() => stateOf(loop.agentPids[0]!) === 'T', 'the agent to be stopped');
    expect(await w.client.request('stop', {})).toEqual({ status: 'stop_requested' });
    expect(await loop.finished()).toMatchObject({ status: 'stopped', paused: false });
    expect(isAlive(loop.agentPids[0]!)).toBe(false);
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'stopped' });
  });

  it('refuses steering once the loop is stopping', async () => {
    const task = await makeTask(sb, { stories: 1, script });
    const loop = await startInProcess(sb, task);
    await seenLines(loop, 'ECHO:READY');
    const w = await Watcher.open(sb, loop.socketPath);
    // Requests on one connection are handled in order: the prompt arrives while the loop is stopping.
    const [stop, inject] = await Promise.allSettled([
      w.client.request('stop', {}),
      w.client.request('inject_prompt', { prompt: 'too late' }),
    ]);
    expect(stop).toMatchObject({ status: 'fulfilled' });
    expect(inject).toMatchObject({ status: 'rejected', reason: { kind: 'LOOP_ENDED' } });
    expect(await loop.finished()).toMatchObject({ status: 'stopped' });
  });
});
