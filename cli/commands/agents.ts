import type { Argv, CommandModule } from 'yargs';
import { paint, printJson, println, table } from '../output.js';

interface AgentsArgs {
  json: boolean;
}

export const agentsCommand: CommandModule<object, AgentsArgs> = {
  command: 'agents',
  describe: 'List the agent CLIs ralph knows, whether each is installed, and how to install it',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const { detectAll, getAgent } = await import('../../src/loop/agents/index.js');
    const found = await detectAll();
    const rows = found.map(({ name, detection }) => ({
      name,
      installed: detection.installed,
      version: detection.version,
      path: detection.path,
      install: getAgent(name).installCommand,
    }));
    if (args.json) return printJson(rows);
    println(
      table(
        ['AGENT', 'INSTALLED', 'VERSION', 'INSTALL WITH'],
        rows.map((r) => [r.name, r.installed ? paint.green('yes') : 'no', r.version ?? '-', r.install]),
      ),
    );
  },
};
