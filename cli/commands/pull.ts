import type { Argv, CommandModule } from 'yargs';
import { paint, printJson, println } from '../output.js';

interface PullArgs {
  task: string;
  project?: string;
  json: boolean;
}

export const pullCommand: CommandModule<object, PullArgs> = {
  command: 'pull <task>',
  describe: "Bring a remote loop's branch home into this repository (never overwriting local work)",
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', demandOption: true, describe: 'The task, or <remote>:<task>' })
      .option('project', {
        type: 'string',
        describe: 'The repository on the box (default: the one the loop was started from)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' }),
  handler: async (args) => {
    const { pullLoop } = await import('../../src/client/remote/pull.js');
    const result = await pullLoop(args.task, {
      project: args.project,
      onProgress: (chunk) => process.stderr.write(chunk),
    });
    if (args.json) return printJson(result);
    const at = result.commit.slice(0, 12);
    const where = `${result.remote}:${result.task}`;
    switch (result.outcome) {
      case 'created':
        println(`${paint.green('pulled')} ${where}: new branch ${paint.bold(result.local_branch)} at ${at}`);
        break;
      case 'fast-forward':
        println(
          `${paint.green('pulled')} ${where}: ${paint.bold(result.local_branch)} fast-forwarded to ${at}`,
        );
        break;
      case 'up-to-date':
        println(`${where}: ${paint.bold(result.local_branch)} is up to date (${at})`);
        break;
      case 'side-branch':
        println(
          `${paint.yellow('pulled')} ${where} to ${paint.bold(result.local_branch)} at ${at}, ` +
            `not ${result.branch}: ${result.reason}`,
        );
        println(paint.dim(`compare: git log ${result.branch}..${result.local_branch}`));
        break;
    }
  },
};
