/**
 * Task files of the wrong kind or size: `ralph start` reads only regular files of at most 16 MiB. A FIFO (which
 * would block the reader forever) or a link to /dev/zero (which would fill memory) is refused at once with a
 * one-line error and exit code 7, and no loop is registered.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliSandbox, startArgs, type TaskFolder } from './harness.js';

const sb = useCliSandbox();

async function startRefused(task: TaskFolder, file: string, reason: string): Promise<void> {
  const result = await sb().ralph(startArgs(task), { timeoutMs: 20_000 });
  expect(result.timedOut, 'ralph start hung').toBe(false);
  expect(result.exitCode, result.stderr).toBe(7);
  expect(result.stderr.split('\n')[0]).toBe(`ralph: cannot read ${file}: it is ${reason}`);
  expect(
    sb()
      .sessions()
      .filter((s) => s.task === task.name),
  ).toEqual([]);
}

describe('start refuses task files that are not small regular files', () => {
  it('a prd.json that is a FIFO', async () => {
    const task = sb().makeTask('fifo-prd');
    const prd = join(task.dir, 'prd.json');
    rmSync(prd);
    execFileSync('mkfifo', [prd]);
    await startRefused(task, prd, 'a FIFO, not a regular file');
  });

  it('a prd.json that links to /dev/zero', async () => {
    const task = sb().makeTask('zero-prd');
    const prd = join(task.dir, 'prd.json');
    rmSync(prd);
    symlinkSync('/dev/zero', prd);
    await startRefused(task, prd, 'a character device, not a regular file');
  });

  it('a prd.json over 16 MiB', async () => {
    const task = sb().makeTask('huge-prd');
    const prd = join(task.dir, 'prd.json');
    truncateSync(prd, 16 * 1024 * 1024 + 1);
    await startRefused(task, prd, 'larger than the 16 MiB limit');
  });

  it('a prompt.md that is a FIFO', async () => {
    const task = sb().makeTask('fifo-prompt');
    const prompt = join(task.dir, 'prompt.md');
    rmSync(prompt);
    execFileSync('mkfifo', [prompt]);
    await startRefused(task, prompt, 'a FIFO, not a regular file');
  });

  it('a progress.txt that links to /dev/zero', async () => {
    const task = sb().makeTask('zero-progress');
    const progress = join(task.dir, 'progress.txt');
    symlinkSync('/dev/zero', progress);
    await startRefused(task, progress, 'a character device, not a regular file');
  });

  it('a prd.json that is a regular file just under the limit is read (and judged as JSON)', async () => {
    const task = sb().makeTask('big-prd');
    const prd = join(task.dir, 'prd.json');
    writeFileSync(prd, ' '.repeat(16 * 1024 * 1024 - 2) + '[]');
    const result = await sb().ralph(startArgs(task), { timeoutMs: 20_000 });
    expect(result.exitCode).toBe(7);
    expect(result.stderr.split('\n')[0]).toBe(
      `ralph: ${prd}: (root): expected an object, got an empty array`,
    );
  });
});
