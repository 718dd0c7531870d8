import { basename, dirname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { nonNegativeNumber, wholeNumber } from '../numbers.js';
import { paint, println } from '../output.js';

interface DemoArgs {
  speed: string | number;
  'max-iterations': string | number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Run a built-in demo agent on a sample task, attached, to completion (no API key needed)',
  builder: (y: Argv) =>
    y
      .option('speed', {
        type: 'string',
        default: 1,
        describe: 'Demo pace: 1 is real pace, higher is faster',
      })
      .option('max-iterations', {
        type: 'string',
        default: 8,
        describe: 'Iteration limit for the demo loop',
      }),
  handler: async (args) => {
    const speed = nonNegativeNumber(args.speed, '--speed');
    const maxIterations = wholeNumber(args['max-iterations'], '--max-iterations');
    const { startLoop } = await import('../../src/client/start.js');
    const { createSampleTask } = await import('../../src/demo/sample-task.js');
    const { loadPrd, storyCounts } = await import('../../src/loop/prd.js');
    const { attachTerminal } = await import('../attach-terminal.js');
    const { taskDir } = await createSampleTask();
    const name = `demo-${basename(dirname(taskDir))
      .replace(/^ralph-demo-/, '')
      .toLowerCase()}`;
    println(paint.dim(`sample task: ${taskDir}`));
    const session = await startLoop({
      taskDir,
      name,
      agent: 'demo',
      maxIterations,
      iterationTimeoutMs: 120_000,
      idleTimeoutMs: 60_000,
      cols: process.stdout.columns || undefined,
      rows: process.stdout.rows || undefined,
      env: { RALPH_DEMO_SPEED: String(speed) },
    });
    println(
      `${paint.green('started')} ${paint.bold(session.task)} — attached; Ctrl-] d detaches, the loop keeps going`,
    );
    const code = await attachTerminal(session.task, { readOnly: false, from: 'start', showIfEnded: true });
    const counts = storyCounts(loadPrd(`${taskDir}/prd.json`));
    println(`${counts.passing}/${counts.total} stories pass · task folder: ${taskDir}`);
    println(paint.dim(`see it again: ralph logs ${session.task}   status: ralph status`));
    process.exitCode = code;
  },
};
