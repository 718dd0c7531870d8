import { basename, resolve } from 'node:path';
import { RalphError, ExitCode } from '../errors.js';

/** Task names become file and socket names, so they are restricted to a safe alphabet. */
export const TASK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const RULE = "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

function validName(name: string): boolean {
  return TASK_NAME_PATTERN.test(name) && !name.includes('..');
}

export function validateTaskName(name: string): string {
  if (!validName(name)) {
    throw new RalphError('INVALID_TASK_NAME', `invalid task name ${JSON.stringify(name)}: ${RULE}`, {
      exitCode: ExitCode.usage,
    });
  }
  return name;
}

/** The task name of a task folder is its directory name; one that cannot be a name says where it came from. */
export function taskNameFromDir(dir: string): string {
  const name = basename(resolve(dir));
  if (!validName(name)) {
    throw new RalphError(
      'INVALID_TASK_NAME',
      `the folder name ${JSON.stringify(name)} cannot be a task name: ${RULE}`,
      { exitCode: ExitCode.usage, hint: 'name the task with --name, e.g. --name my-task' },
    );
  }
  return name;
}
