/**
 * The fleet client layer behind the TUI: real loops run in this process, a real registry, real sockets. It
 * lists local and remote rows, follows a loop live, reads the detail pane's data from a running loop and from
 * the files of an ended one, and reconciles a dead runner on start.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fleet, type FleetRow } from '../../src/client/fleet/index.js';
import { Registry } from '../../src/registry/index.js';
import { gate, makeTask, openGate, Sandbox, startInProcess, waitFor, Watcher } from '../loop/helpers.js';

let sb: Sandbox;
let fleet: Fleet | null = null;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  fleet?.close();
  fleet = null;
  await sb.dispose();
});

function row(f: Fleet, task: string): FleetRow | undefined {
  return f.rows().find((r) => r.task === task);
}

function addRows(): void {
  const registry = Registry.open(sb.paths.registryFile);
  try {
    registry.create({
      task: 'far-away',
      location: 'remote',
      transport: 'ziti',
      address: 'ralph-vps1',
      remoteName: 'vps1',
      agent: 'claude',
      taskDir: '/srv/tasks/far-away',
      maxIterations: 20,
      status: 'running',
      iteration: 4,
    });
    // A runner that died without a word: its pid is long gone.
    registry.create({
      task: 'ghost',
      location: 'local',
      transport: 'unix',
      address: '/nonexistent/ghost.sock',
      agent: 'claude',
      taskDir: '/nonexistent/ghost',
      maxIterations: 5,
      status: 'running',
      pid: 999_999_999,
      startedAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
  } finally {
    registry.close();
  }
}

describe('the fleet', () => {
  it('lists local and remote loops and follows a loop live until it ends', async () => {
    const task = await makeTask(sb, {
      name: 'alpha',
      stories: 2,
      script: { iterations: [[{ print: 'warming up' }, ...gate('1'), { passAll: true }]] },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 3 });
    addRows();
    fleet = new Fleet({ paths: sb.paths, pollMs: 200 });
    const report = await fleet.start();
    expect(report.crashed.map((s) => s.task)).toEqual(['ghost']);

    const f = fleet;
    await waitFor(() => row(f, 'alpha')?.link.state === 'live', 'alpha to be live');
    await waitFor(() => row(f, 'alpha')?.lastLine === 'ECHO:READY', 'the last output line');
    expect(row(f, 'alpha')).toMatchObject({
      location: 'local',
      status: 'running',
      iteration: 1,
      maxIterations: 3,
      currentStory: 'US-001',
      stories: { total: 2, passing: 0 },
    });
    expect(row(f, 'ghost')).toMatchObject({ status: 'crashed', link: { state: 'ended' } });
    const remote = row(f, 'far-away')!;
    expect(remote.location).toBe('vps1');
    await waitFor(() => row(f, 'far-away')?.link.state === 'unreachable', 'the remote to be judged');
    const health = row(f, 'far-away')!.link;
    expect(health.state === 'unreachable' && health.reason).toMatch(/vps1/);

    // Running rows come before ended ones.
    expect(
      f
        .rows()
        .map((r) => r.task)
        .indexOf('ghost'),
    ).toBeGreaterThan(
      f
        .rows()
        .map((r) => r.task)
        .indexOf('alpha'),
    );

    // A request through the fleet, and its effect arriving as an event.
    const alpha = row(f, 'alpha')!;
    expect(await f.request(alpha, 'add_iterations', { count: 2 })).toEqual({ max_iterations: 5 });
    await waitFor(() => row(f, 'alpha')?.maxIterations === 5, 'the new limit in the row');

    const live = await f.detail(alpha, 50);
    expect(live.source).toBe('live');
    expect(live.problems).toEqual([]);
    expect(live.screen?.lines).toContain('gate 1');
    expect(live.stories?.map((s) => s.id)).toEqual(['US-001', 'US-002']);
    expect(live.currentStory).toBe('US-001');
    expect(live.iterations?.map((i) => i.outcome)).toEqual(['running']);

    const w = await Watcher.open(sb, loop.socketPath);
    await openGate(loop, w.client, 1);
    await loop.finished();
    await waitFor(() => row(f, 'alpha')?.link.state === 'ended', 'alpha to end in the fleet');
    const ended = row(f, 'alpha')!;
    expect(ended).toMatchObject({ status: 'completed', iteration: 1 });

    const fromFiles = await f.detail(ended, 50);
    expect(fromFiles.source).toBe('files');
    expect(fromFiles.problems).toEqual([]);
    expect(fromFiles.stories?.every((s) => s.passes)).toBe(true);
    expect(fromFiles.currentStory).toBeNull();
    expect(fromFiles.iterations?.map((i) => [i.number, i.outcome])).toEqual([[1, 'completed']]);
    const shown = [...(fromFiles.screen?.history ?? []), ...(fromFiles.screen?.lines ?? [])].join('\n');
    expect(shown).toContain('warming up');
    expect(shown).toContain('gate 1');

    const remoteDetail = await f.detail(row(f, 'far-away')!, 10);
    expect(remoteDetail).toMatchObject({ source: 'none', screen: null });
    expect(remoteDetail.problems.join(' ')).toMatch(/vps1/);
  });

  it('shows a loop started after it opened, and answers a request to an ended loop with an error', async () => {
    fleet = new Fleet({ paths: sb.paths, pollMs: 100 });
    await fleet.start();
    expect(fleet.rows()).toEqual([]);
    const task = await makeTask(sb, { name: 'late', stories: 1, script: { steps: gate('1') } });
    const loop = await startInProcess(sb, task, { maxIterations: 1 });
    const f = fleet;
    await waitFor(() => row(f, 'late')?.link.state === 'live', 'the new loop to be followed');
    loop.runner.stop(true);
    await loop.finished();
    await waitFor(() => row(f, 'late')?.status === 'stopped', 'the stop to show');
    const err = await f.request(row(f, 'late')!, 'pause').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });
});
