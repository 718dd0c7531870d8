/** The files of one session's folder, and opening them for a new session: a folder is never shared. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, RalphError } from '../errors.js';
import { writeError } from './disk-full.js';
import { IterationLog } from './iteration-log.js';
import type { LoopConfig } from './types.js';
import { OutputLog } from './output-log.js';

export interface RunnerFiles {
  dir: string;
  outputLog: string;
  iterations: string;
  promptFile: string;
}

export function runnerFiles(dir: string): RunnerFiles {
  return {
    dir,
    outputLog: join(dir, 'output.log'),
    iterations: join(dir, 'iterations.json'),
    promptFile: join(dir, 'prompt.md'),
  };
}

function sessionDirInUse(dir: string, file: string): RalphError {
  return new RalphError(
    'SESSION_DIR_IN_USE',
    `session folder ${dir} already holds a session (${file} exists)`,
    {
      exitCode: ExitCode.conflict,
    },
  );
}

/**
 * Creates a new session's output log and iteration records. A folder that holds another session's records is
 * refused (SESSION_DIR_IN_USE), never appended to; the log is created exclusively, so two runners cannot share it.
 */
export function openSessionFiles(files: RunnerFiles): { log: OutputLog; iterations: IterationLog } {
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  if (existsSync(files.iterations)) throw sessionDirInUse(files.dir, files.iterations);
  let log: OutputLog;
  try {
    log = OutputLog.create(files.outputLog);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw sessionDirInUse(files.dir, files.outputLog);
    throw err;
  }
  return { log, iterations: new IterationLog(files.iterations) };
}

/** Writes a loop's config.json into its session folder. */
export function saveLoopConfig(dir: string, config: LoopConfig): void {
  const file = join(dir, 'config.json');
  try {
    writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  } catch (err) {
    throw writeError(err, file);
  }
}
