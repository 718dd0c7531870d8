/** Steering a running loop: more iterations, an injected prompt, a new terminal size, the rendered screen. */
import { readFileSync } from 'node:fs';
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
