/** Steering a running loop: more iterations, an injected prompt, a new terminal size, the rendered screen. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gate, makeTask, openGate, Sandbox, seenLines, startInProcess, waitFor, Watcher } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const INJECTED = 'Fix the flaky date test before anything else.';

describe('steering a running loop', () => {
  it('adds iterations, injects a prompt into the next iteration, resizes and peeks', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      extraArgs: '--prompt-file {prompt_file}',
      script: {
        iterations: [gate('1'), [{ printArgs: true }, ...gate('2')]],
        steps: [{ passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 1 });
    const w = await Watcher.open(sb, loop.socketPath);
    await w.client.request('subscribe', { events: ['state_change'] });
    await seenLines(loop, 'ECHO:READY');
    const promptFile = loop.runner.files.promptFile;

    // One iteration allowed; two more make room for iterations 2 and 3.
    expect(await w.client.request('add_iterations', { count: 2 })).toEqual({ max_iterations: 3 });
    await w.until((x) => x.states.some((s) => s.max_iterations === 3), 'the max_iterations change');
    await waitFor(() => sb.registryRow(loop.session.id)?.maxIterations === 3, 'the registry to record 3');

    expect(await w.client.request('inject_prompt', { prompt: INJECTED })).toEqual({
      status: 'prompt_injected',
      prompt: INJECTED,
    });
    expect(readFileSync(promptFile, 'utf8')).not.toContain(INJECTED);

    const before = await w.client.request('peek');
    expect(before).toMatchObject({ cols: 80, rows: 24 });
    expect(before.lines).toHaveLength(24);
    expect(before.lines).toContain('gate 1');
    expect(before.lines).toContain('ECHO:READY');
    expect(before.lines.some((l) => l.includes('ralph: iteration 1/1 · US-001'))).toBe(true);

    expect(await w.client.request('resize', { cols: 100, rows: 30 })).toEqual({ cols: 100, rows: 30 });
    await w.until((x) => x.states.some((s) => s.cols === 100 && s.rows === 30), 'the size change');
    const after = await w.client.request('peek');
    expect(after).toMatchObject({ cols: 100, rows: 30 });
    expect(after.lines).toHaveLength(30);
    expect(after.lines).toContain('gate 1');
    expect(await w.client.request('get_status')).toMatchObject({ cols: 100, rows: 30, max_iterations: 3 });

    await openGate(loop, w.client, 1);
    await seenLines(loop, 'gate 2');
    const prompt = readFileSync(promptFile, 'utf8');
    expect(prompt).toContain('# Instructions from the operator (iteration 2)');
    expect(prompt).toContain(INJECTED);
    expect(prompt.indexOf(INJECTED)).toBeLessThan(prompt.indexOf('# Fixture prompt'));
    const argsLine = loop.lines.find((l) => l.startsWith('ARGS:'));
    expect(JSON.parse(argsLine!.slice('ARGS:'.length))).toEqual([
      '--script',
      task.scriptFile,
      '--prompt-file',
      promptFile,
    ]);
    const screen = await w.client.request('peek');
    expect(screen.lines.some((l) => l.includes('ralph: iteration 2/3 · US-001'))).toBe(true);

    await openGate(loop, w.client, 2);
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 3, maxIterations: 3, cols: 100, rows: 30 });
    // An injected prompt is used once.
    expect(readFileSync(promptFile, 'utf8')).not.toContain(INJECTED);
  });

  it('lets an exhausted limit be raised before the loop reaches it', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: { iterations: [gate('1')], steps: [{ print: 'no luck' }] },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 1 });
    const w = await Watcher.open(sb, loop.socketPath);
    expect(await w.client.request('add_iterations', { count: 1 })).toEqual({ max_iterations: 2 });
    await openGate(loop, w.client, 1);
    const final = await loop.finished();
    expect(final).toMatchObject({
      status: 'exhausted',
      iteration: 2,
      exitReason: 'reached the limit of 2 iterations',
    });
    expect(sb.registryRow(loop.session.id)).toMatchObject({
      status: 'exhausted',
      maxIterations: 2,
      iteration: 2,
    });
  });
});

describe('what the fleet view reads', () => {
  it('lists the stories as prd.json has them now, and peeks with scrollback', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => ({ print: `line ${i + 1}` }));
    const task = await makeTask(sb, {
      stories: 2,
      script: { iterations: [[...lines, { passStory: 'US-001' }, ...gate('1')]] },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 1 });
    const w = await Watcher.open(sb, loop.socketPath);
    await seenLines(loop, 'gate 1');

    const { stories, current } = await w.client.request('get_stories');
    expect(current).toBe('US-002');
    expect(stories.map((s) => [s.id, s.passes])).toEqual([
      ['US-001', true],
      ['US-002', false],
    ]);
    expect(stories[1]).toMatchObject({ priority: 2, depends_on: [] });
    expect(typeof stories[0]!.title).toBe('string');

    const plain = await w.client.request('peek');
    expect(plain.history).toBeUndefined();
    const peeked = await w.client.request('peek', { scrollback: 10 });
    expect(peeked.lines).toEqual(plain.lines);
    expect(peeked.history).toHaveLength(10);
    // The history ends just above the screen's first line, in order.
    const firstShown = Number(/^line (\d+)$/.exec(plain.lines[0]!)?.[1]);
    expect(peeked.history).toEqual(Array.from({ length: 10 }, (_, i) => `line ${firstShown - 10 + i}`));

    const bad = await w.client.request('peek', { scrollback: -1 }).catch((err: unknown) => err);
    expect(String(bad)).toMatch(/scrollback/);

    // A prd.json broken on disk is answered with the file and the problem; the loop keeps serving.
    writeFileSync(join(task.dir, 'prd.json'), '{ "userStories": [');
    const broken = await w.client.request('get_stories').catch((err: unknown) => err);
    expect(broken).toMatchObject({ code: 1011 });
    expect(String((broken as Error).message)).toContain('prd.json');
    expect(await w.client.request('get_status')).toMatchObject({ status: 'running' });
  });
});
