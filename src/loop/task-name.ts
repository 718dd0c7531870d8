import { basename, resolve } from 'node:path';
import { RalphError, ExitCode } from '../errors.js';

/** Task names become file and socket names, so they are restricted to a safe alphabet. */
export const TASK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateTaskName(name: string): string {
  if (!TASK_NAME_PATTERN.test(name) || name.includes('..')) {
    throw new RalphError(
      'INVALID_TASK_NAME',
      `invalid task name ${JSON.stringify(name)}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { exitCode: ExitCode.usage },
    );
  }
  return name;
}

/** The task name of a task folder is its directory name. */
export function taskNameFromDir(dir: string): string {
  return validateTaskName(basename(resolve(dir)));
}
