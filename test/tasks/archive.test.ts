import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveFolderName, archiveIfBranchChanged, progressHeader } from '../../src/loop/archive.js';

const NOW = new Date(2025, 2, 4, 10, 30);

function prd(branchName: string | null): string {
  const stories = [{ id: 'US-001', title: 't', acceptanceCriteria: [], priority: 1, passes: false }];
  return JSON.stringify({ project: 'P', branchName, description: '', userStories: stories }, null, 2);
}

describe('archiveIfBranchChanged', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ralph-archive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the branch on the first run and creates progress.txt', () => {
    writeFileSync(file('prd.json'), prd('ralph/first'));
    expect(archiveIfBranchChanged(dir, NOW)).toEqual({ archived: null });
    expect(readFileSync(file('.last-branch'), 'utf8')).toBe('ralph/first\n');
    expect(readFileSync(file('progress.txt'), 'utf8')).toBe(progressHeader(NOW));
    expect(existsSync(file('archive'))).toBe(false);
  });

  it('does nothing while the branch stays the same', () => {
    writeFileSync(file('prd.json'), prd('ralph/first'));
    writeFileSync(file('.last-branch'), 'ralph/first\n');
    writeFileSync(file('progress.txt'), 'work so far\n');
    expect(archiveIfBranchChanged(dir, NOW)).toEqual({ archived: null });
    expect(readFileSync(file('progress.txt'), 'utf8')).toBe('work so far\n');
  });

  it('archives prd.json and progress.txt under the date and the old branch, then resets progress', () => {
    writeFileSync(file('prd.json'), prd('ralph/second'));
    writeFileSync(file('.last-branch'), 'ralph/first\n');
    writeFileSync(file('progress.txt'), '# log\nUS-001 done\n');
    const { archived } = archiveIfBranchChanged(dir, NOW);
    expect(archived).toBe(join(dir, 'archive', '2025-03-04-first'));
    expect(readdirSync(archived!).sort()).toEqual(['prd.json', 'progress.txt']);
    expect(readFileSync(join(archived!, 'progress.txt'), 'utf8')).toBe('# log\nUS-001 done\n');
    expect(readFileSync(join(archived!, 'prd.json'), 'utf8')).toBe(prd('ralph/second'));
    expect(readFileSync(file('progress.txt'), 'utf8')).toBe(progressHeader(NOW));
    expect(readFileSync(file('.last-branch'), 'utf8')).toBe('ralph/second\n');
    expect(archiveIfBranchChanged(dir, NOW)).toEqual({ archived: null });
  });

  it('never overwrites an earlier archive of the same day and branch', () => {
    writeFileSync(file('prd.json'), prd('ralph/b'));
    writeFileSync(file('.last-branch'), 'ralph/a\n');
    writeFileSync(file('progress.txt'), 'first run\n');
    expect(archiveIfBranchChanged(dir, NOW).archived).toBe(join(dir, 'archive', '2025-03-04-a'));
    writeFileSync(file('.last-branch'), 'ralph/a\n');
    writeFileSync(file('progress.txt'), 'second run\n');
    const second = archiveIfBranchChanged(dir, NOW).archived;
    expect(second).toBe(join(dir, 'archive', '2025-03-04-a-2'));
    expect(readFileSync(join(second!, 'progress.txt'), 'utf8')).toBe('second run\n');
    expect(readFileSync(join(dir, 'archive', '2025-03-04-a', 'progress.txt'), 'utf8')).toBe('first run\n');
  });

  it('leaves everything alone when prd.json names no branch', () => {
    writeFileSync(file('prd.json'), prd(null));
    writeFileSync(file('.last-branch'), 'ralph/a\n');
    writeFileSync(file('progress.txt'), 'kept\n');
    expect(archiveIfBranchChanged(dir, NOW)).toEqual({ archived: null });
    expect(readFileSync(file('.last-branch'), 'utf8')).toBe('ralph/a\n');
    expect(readFileSync(file('progress.txt'), 'utf8')).toBe('kept\n');
  });

  it('fails on an invalid prd.json instead of guessing', () => {
    writeFileSync(file('prd.json'), '{ "project": ');
    expect(() => archiveIfBranchChanged(dir, NOW)).toThrowError(
      expect.objectContaining({ code: 'INVALID_PRD' }),
    );
  });
});

describe('archiveFolderName', () => {
  it('strips the ralph/ prefix and flattens other slashes', () => {
    expect(archiveFolderName('ralph/todo-app', NOW)).toBe('2025-03-04-todo-app');
    expect(archiveFolderName('ralph/feature/login', NOW)).toBe('2025-03-04-feature-login');
    expect(archiveFolderName('main', NOW)).toBe('2025-03-04-main');
  });
});
