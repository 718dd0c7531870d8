/** A loop started on a prd.json for a new branch archives the previous run of the task folder first. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask, Sandbox, startInProcess } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const OLD_PROGRESS =
  '# Ralph Progress Log\nStarted: 2026-01-01T00:00:00.000Z\n---\n## US-001 done on the old branch\n';

describe('branch change archiving at loop start', () => {
  it('archives prd.json and progress.txt of the last branch and starts a fresh progress log', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      branchName: 'ralph/new-feature',
      git: true,
      script: [{ passStory: 'current' }],
    });
    writeFileSync(join(task.dir, '.last-branch'), 'ralph/old-feature\n');
    writeFileSync(join(task.dir, 'progress.txt'), OLD_PROGRESS);

    const loop = await startInProcess(sb, task);
    expect(await loop.finished()).toMatchObject({ status: 'completed' });

    const archives = readdirSync(join(task.dir, 'archive'));
    expect(archives).toHaveLength(1);
    expect(archives[0]).toMatch(/^\d{4}-\d{2}-\d{2}-old-feature$/);
    const archived = join(task.dir, 'archive', archives[0]!);
    expect(readFileSync(join(archived, 'progress.txt'), 'utf8')).toBe(OLD_PROGRESS);
    expect(JSON.parse(readFileSync(join(archived, 'prd.json'), 'utf8'))).toMatchObject({
      branchName: 'ralph/new-feature',
    });
    const progress = readFileSync(join(task.dir, 'progress.txt'), 'utf8');
    expect(progress).toMatch(/^# Ralph Progress Log\nStarted: /);
    expect(progress).not.toContain('old branch');
    expect(readFileSync(join(task.dir, '.last-branch'), 'utf8')).toBe('ralph/new-feature\n');
    expect(loop.logs.join('\n')).toContain(`archived the previous run to ${archived}`);
    expect(readFileSync(join(loop.dir, 'output.log'), 'utf8')).toContain('[ralph] archived the previous run');
  });

  it('archives nothing when the branch is unchanged', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      branchName: 'ralph/same',
      script: [{ passStory: 'current' }],
    });
    writeFileSync(join(task.dir, '.last-branch'), 'ralph/same\n');
    writeFileSync(join(task.dir, 'progress.txt'), OLD_PROGRESS);
    const loop = await startInProcess(sb, task);
    expect(await loop.finished()).toMatchObject({ status: 'completed' });
    expect(existsSync(join(task.dir, 'archive'))).toBe(false);
    expect(readFileSync(join(task.dir, 'progress.txt'), 'utf8')).toBe(OLD_PROGRESS);
  });

  it('records the branch on a first run without archiving', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      branchName: 'ralph/first',
      script: [{ passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task);
    expect(await loop.finished()).toMatchObject({ status: 'completed' });
    expect(existsSync(join(task.dir, 'archive'))).toBe(false);
    expect(readFileSync(join(task.dir, '.last-branch'), 'utf8')).toBe('ralph/first\n');
  });
});
