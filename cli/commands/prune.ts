import type { Argv, CommandModule } from 'yargs';
import { parseDuration, printJson, println } from '../output.js';

interface PruneArgs {
  'older-than'?: string;
  'dry-run': boolean;
  'keep-logs': boolean;
  json: boolean;
}

export const pruneCommand: CommandModule<object, PruneArgs> = {
  command: 'prune',
  describe: 'Delete ended sessions (and their logs) from the registry',
  builder: (y: Argv) =>
    y
      .option('older-than', {
        type: 'string',
        describe: 'Only sessions that ended longer ago than this, e.g. 7d',
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Show what would go' })
      .option('keep-logs', { type: 'boolean', default: false, describe: 'Keep the output logs on disk' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const { pruneSessions } = await import('../../src/client/prune.js');
    const pruned = pruneSessions({
      olderThanMs:
        args['older-than'] === undefined ? undefined : parseDuration(args['older-than'], '--older-than'),
      dryRun: args['dry-run'],
      keepLogs: args['keep-logs'],
    });
    if (args.json) return printJson({ pruned, dryRun: args['dry-run'] });
    const verb = args['dry-run'] ? 'would prune' : 'pruned';
    println(`${verb} ${pruned.length} session${pruned.length === 1 ? '' : 's'}`);
    for (const s of pruned) println(`  ${s.task} #${s.id} (${s.status})`);
  },
};
