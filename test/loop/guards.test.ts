/** Stalls, verified completion and the loop's time budget, with the real runner and the fake agent in a PTY. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask, Sandbox, startInProcess, storyPasses, iterationOutcomes } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const outcomes = iterationOutcomes;

describe('stalls', () => {
  it('ends the loop stalled after 3 iterations that change nothing, with the evidence', async () => {
    const task = await makeTask(sb, { stories: 2, git: true, script: [{ print: 'thinking...' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 10 });
    const final = await loop.finished();
    expect(final.status).toBe('stalled');
    expect(final.iteration).toBe(3);
    expect(final.exitReason).toMatch(
      /^3 iterations in a row changed nothing \(iterations 1-3: prd\.json, progress\.txt, git HEAD [0-9a-f]{12} and the worktree unchanged\)$/,
    );
    expect(sb.registryRow(loop.session.id)).toMatchObject({
      status: 'stalled',
      exitReason: final.exitReason,
    });
  });

  it('counts a change to the git worktree as progress', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      git: true,
      script: {
        iterations: [[], [], [{ writeFile: { path: 'notes.md', content: 'a' } }], [], []],
        steps: [],
      },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 10, stallAfter: 3 });
    const final = await loop.finished();
    // Iterations 1-2 change nothing, 3 changes the worktree (the count starts again), 4-6 change nothing.
    expect(final).toMatchObject({ status: 'stalled', iteration: 6 });
    expect(final.exitReason).toMatch(/iterations 4-6/);
  });

  it('watches the git repository of --cwd when the agent works outside the task folder', async () => {
    const repo = join(sb.root, 'repo');
    mkdirSync(repo);
    await execa('git', ['init', '-q'], { cwd: repo });
    const task = await makeTask(sb, {
      stories: 1,
      script: { iterations: [[], [{ writeFile: { path: 'code.ts', content: 'x' } }]], steps: [] },
    });
    const loop = await startInProcess(sb, task, { maxIterations: 10, stallAfter: 2, cwd: repo });
    const final = await loop.finished();
    // Iteration 2 changed the repository the agent works in; 3-4 changed nothing.
    expect(final).toMatchObject({ status: 'stalled', iteration: 4 });
    expect(final.exitReason).toMatch(/iterations 3-4/);
  });

  it('is off with stallAfter 0', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ print: 'thinking...' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 4, stallAfter: 0 });
    expect((await loop.finished()).status).toBe('exhausted');
  });
});

describe('verified completion', () => {
  it('sets a story whose verify command fails back to failing, and completes once it passes', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: {
        iterations: [[{ passStory: 'current' }]],
        steps: [{ writeFile: { path: 'ok.txt', content: 'ok' } }, { passStory: 'current' }],
      },
    });
    const prdFile = join(task.dir, 'prd.json');
    const prd = JSON.parse(readFileSync(prdFile, 'utf8')) as { userStories: Record<string, unknown>[] };
    prd.userStories[0]!.verify = "test -f ok.txt || { echo 'ok.txt is missing'; exit 3; }";
    writeFileSync(prdFile, JSON.stringify(prd, null, 2) + '\n');

    const loop = await startInProcess(sb, task, { maxIterations: 4 });
    const final = await loop.finished();
    expect(final).toMatchObject({ status: 'completed', iteration: 2, exitReason: 'all stories pass' });
    expect(outcomes(loop.dir)).toEqual(['verify_failed', 'completed']);
    expect(storyPasses(task.dir)).toEqual([true]);
    const progress = readFileSync(join(task.dir, 'progress.txt'), 'utf8');
    expect(progress).toContain('Acceptance check failed after iteration 1');
    expect(progress).toContain('Set back to failing: US-001');
    expect(progress).toContain('(exit code 3)');
    expect(progress).toContain('ok.txt is missing');
    expect(readFileSync(join(loop.dir, 'output.log'), 'utf8')).toContain('set US-001 back to failing');
  });

  it('runs the loop-wide --verify commands too, and never completes while they fail', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ passStory: 'current' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 2, verify: ['echo checking; false'] });
    const final = await loop.finished();
    expect(final.status).toBe('exhausted');
    expect(outcomes(loop.dir)).toEqual(['verify_failed', 'verify_failed']);
    expect(storyPasses(task.dir)).toEqual([false]);
  });
});

describe('the time budget', () => {
  it('ends the loop budget_exceeded once --max-duration has passed', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ sleep: 1200 }] });
    const loop = await startInProcess(sb, task, { maxIterations: 10, maxDurationMs: 2000, stallAfter: 0 });
    const final = await loop.finished();
    expect(final.status).toBe('budget_exceeded');
    expect(final.exitReason).toMatch(/^max duration 2s reached \(0m [23]s elapsed\)$/);
    expect(final.iteration).toBe(2);
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'budget_exceeded' });
  });
});
