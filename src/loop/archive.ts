/**
 * Archives a finished run when prd.json moves to a new branch, as the original ralph.sh does: the task folder
 * remembers the last branch in `.last-branch`; when prd.json names another one, prd.json and progress.txt are
 * copied to `archive/<YYYY-MM-DD>-<last branch without "ralph/">/` and progress.txt starts afresh.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPrd } from './prd.js';
import { readRegularBytes, readRegularFile } from '../util/read-file.js';
import { isoTime, pad } from '../util/clock.js';

export const LAST_BRANCH_FILE = '.last-branch';
export const ARCHIVE_DIR = 'archive';

export function progressHeader(now: Date): string {
  return `# Ralph Progress Log\nStarted: ${isoTime(now)}\n---\n`;
}

function localDate(now: Date): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** `ralph/todo-app` → `todo-app`; any other `/` becomes `-` so the archive stays one folder deep. */
export function archiveFolderName(branch: string, now: Date): string {
  const name = branch.replace(/^ralph\//, '').replace(/[/\\]+/g, '-');
  return `${localDate(now)}-${name}`;
}

function freshFolder(base: string): string {
  if (!existsSync(base)) return base;
  for (let n = 2; n < 1000; n++) {
    const candidate = `${base}-${n}`;
    if (!existsSync(candidate)) return candidate;
  }
  return `${base}-${Date.now()}`;
}

export function archiveIfBranchChanged(taskDir: string, now: Date = new Date()): { archived: string | null } {
  const prdFile = join(taskDir, 'prd.json');
  const progressFile = join(taskDir, 'progress.txt');
  const lastFile = join(taskDir, LAST_BRANCH_FILE);
  const branch = loadPrd(prdFile).branchName ?? '';
  const last = existsSync(lastFile) ? readRegularFile(lastFile, 4096).trim() : '';

  let archived: string | null = null;
  if (branch !== '' && last !== '' && branch !== last) {
    archived = freshFolder(join(taskDir, ARCHIVE_DIR, archiveFolderName(last, now)));
    mkdirSync(archived, { recursive: true });
    // Copied through a checked read: a FIFO or a link to a device must not hang or fill the archive.
    writeFileSync(join(archived, 'prd.json'), readRegularBytes(prdFile));
    if (existsSync(progressFile))
      writeFileSync(join(archived, 'progress.txt'), readRegularBytes(progressFile));
    writeFileSync(progressFile, progressHeader(now));
  }
  if (branch !== '') writeFileSync(lastFile, `${branch}\n`);
  if (!existsSync(progressFile)) writeFileSync(progressFile, progressHeader(now));
  return { archived };
}
