/**
 * The task folder and the prompt an iteration sends. Prompts injected while the loop runs are put before
 * prompt.md (ralph-uv's "prepended to the next agent prompt"); a short context section after it tells the agent
 * where the task folder is, since the agent receives the text and not the file.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RalphError, ExitCode } from '../errors.js';
import type { Story } from './prd.js';
import { progressHeader } from './archive.js';
import { readErrorText, readRegularBytes, readRegularFile } from '../util/read-file.js';

export interface TaskFiles {
  taskDir: string;
  prdFile: string;
  promptFile: string;
  progressFile: string;
}

const TASK_HINT = 'a task folder holds prd.json, prompt.md and progress.txt (see docs/tasks.md)';

function invalidTask(message: string): RalphError {
  return new RalphError('INVALID_TASK', message, { exitCode: ExitCode.invalidTask, hint: TASK_HINT });
}

/** Checks that `dir` is a task folder; creates progress.txt when it is missing. */
export function validateTaskDir(dir: string, now: Date = new Date()): TaskFiles {
  const taskDir = resolve(dir);
  if (!existsSync(taskDir)) throw invalidTask(`task folder ${taskDir} does not exist`);
  if (!statSync(taskDir).isDirectory()) throw invalidTask(`${taskDir} is not a folder`);
  const files: TaskFiles = {
    taskDir,
    prdFile: join(taskDir, 'prd.json'),
    promptFile: join(taskDir, 'prompt.md'),
    progressFile: join(taskDir, 'progress.txt'),
  };
  if (!existsSync(files.prdFile)) throw invalidTask(`task folder ${taskDir} has no prd.json`);
  if (!existsSync(files.promptFile)) throw invalidTask(`task folder ${taskDir} has no prompt.md`);
  if (!existsSync(files.progressFile)) writeFileSync(files.progressFile, progressHeader(now));
  // prompt.md and progress.txt are read (or copied) on every run: a FIFO or a huge file is refused now.
  readPromptFile(files.promptFile);
  checkTaskFile(files.progressFile);
  return files;
}

export interface BuildPromptInput {
  taskDir: string;
  /** Prompts injected since the last iteration, oldest first. */
  injected: string[];
  iteration: number;
  story: Story | null;
}

function readPromptFile(file: string): string {
  try {
    return readRegularFile(file);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw invalidTask(missing ? `${file} not found` : `cannot read ${file}: ${readErrorText(err)}`);
  }
}

/** Refuses a task file that is not a small regular file (the runner reads or copies it later). */
export function checkTaskFile(file: string): void {
  try {
    readRegularBytes(file);
  } catch (err) {
    throw invalidTask(`cannot read ${file}: ${readErrorText(err)}`);
  }
}

export function buildPrompt(input: BuildPromptInput): string {
  const taskDir = resolve(input.taskDir);
  const body = readPromptFile(join(taskDir, 'prompt.md')).trimEnd();
  const parts: string[] = [];
  const injected = input.injected.map((p) => p.trim()).filter((p) => p !== '');
  if (injected.length > 0) {
    parts.push(
      `# Instructions from the operator (iteration ${input.iteration})\n\n` +
        'Follow these first; they take precedence over the standing instructions below.\n\n' +
        injected.join('\n\n'),
      '---',
    );
  }
  parts.push(body);
  const story =
    input.story === null ? 'none (every story passes)' : `${input.story.id} - ${input.story.title}`;
  parts.push(
    '---',
    '## Ralph context\n\n' +
      `- Task folder: ${taskDir} (prd.json, progress.txt and prompt.md live here)\n` +
      `- Iteration: ${input.iteration}\n` +
      `- Next story by priority and dependencies: ${story}`,
  );
  return parts.join('\n\n') + '\n';
}
