/**
 * What `ralph start` reports comes from the registry: a loop that ran and ended before its socket was seen
 * (every story passes already) is reported with its status and reason and exits as a loop that ended does.
 * Timeouts outside 1 s to 365 days are refused as usage errors before anything starts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/registry/index.js';
import { useCliSandbox, startArgs, type TaskFolder } from './harness.js';

const sb = useCliSandbox();

function allPassing(task: TaskFolder): void {
  const file = join(task.dir, 'prd.json');
  const prd = JSON.parse(readFileSync(file, 'utf8')) as { userStories: { passes: boolean }[] };
  for (const story of prd.userStories) story.passes = true;
  writeFileSync(file, JSON.stringify(prd, null, 2) + '\n');
}

describe('start reports a loop that ended at once', () => {
  it('a task whose stories all pass: completed, exit 0', async () => {
    const task = sb().makeTask('done-already', { stories: 2 });
    allPassing(task);
    const result = await sb().ralph(startArgs(task));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('done-already ended at once: completed (all stories pass)\n');
    expect(sb().session('done-already')).toMatchObject({
      status: 'completed',
      exitReason: 'all stories pass',
    });
  });

  it('--json prints the ended registry entry', async () => {
    const task = sb().makeTask('done-json');
    allPassing(task);
    const result = await sb().ralph(startArgs(task, ['--json']));
    expect(result.exitCode, result.stderr).toBe(0);
    const entry = JSON.parse(result.stdout) as SessionRecord;
    expect(entry).toMatchObject({ task: 'done-json', status: 'completed', exitReason: 'all stories pass' });
  });
});

describe('start refuses timeouts outside 1 s to 365 days', () => {
  const task = (): TaskFolder => sb().makeTask('limits');

  it.each([
    ['--idle-timeout', '0.5s', '500 ms'],
    ['--idle-timeout', '0.0001', '0.1 ms'],
    ['--iteration-timeout', '400d', '400 days'],
    ['--iteration-timeout', '999ms', '999 ms'],
  ])('%s %s exits 2', async (flag, value, shown) => {
    const result = await sb().ralph(startArgs(task(), [flag, value]));
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      `ralph: ${flag} must be 0 (no limit) or from 1s to 365d, got ${shown}`,
    );
    expect(
      sb()
        .sessions()
        .filter((s) => s.task === 'limits'),
    ).toEqual([]);
  });

  it('a 25-day timeout is accepted', async () => {
    const t = sb().makeTask('long-limit');
    allPassing(t);
    const result = await sb().ralph(startArgs(t, ['--idle-timeout', '25d', '--iteration-timeout', '365d']));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('ended at once: completed');
  });
});
