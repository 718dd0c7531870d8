/**
 * The demo agent's entry point: `node demo-agent.js --task-dir <dir>` runs one iteration against the task
 * folder, offline. RALPH_DEMO_SPEED sets the pace (see pacing.ts); RALPH_ITERATION, when the runner sets it, is
 * shown in the banner.
 */
import { resolve } from 'node:path';
import { errorMessage } from '../errors.js';
import { runDemoIteration } from './demo-iteration.js';
import { demoSpeed } from './pacing.js';

function taskDirFrom(argv: string[], env: NodeJS.ProcessEnv): string {
  const flag = argv.indexOf('--task-dir');
  const value = flag >= 0 ? argv[flag + 1] : env.RALPH_TASK_DIR;
  if (value === undefined || value === '') throw new Error('usage: demo-agent --task-dir <task folder>');
  return resolve(value);
}

async function main(): Promise<number> {
  const taskDir = taskDirFrom(process.argv.slice(2), process.env);
  return runDemoIteration({
    taskDir,
    speed: demoSpeed(process.env),
    write: (text) => process.stdout.write(text),
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`\x1b[31mdemo agent: ${errorMessage(err)}\x1b[39m\n`);
    process.exitCode = 1;
  },
);
