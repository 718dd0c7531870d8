import type { Argv, CommandModule } from 'yargs';
import { colorStatus, paint, parseDuration, printJson, println, table } from '../output.js';

interface AddArgs {
  name: string;
  identity: string;
  service: string;
}

interface NameArgs {
  name: string;
  json: boolean;
  timeout?: string;
}

interface StartLoopArgs {
  remote: string;
  'task-dir': string;
  agent?: string;
  'max-iterations'?: number;
  name?: string;
  'agent-command'?: string;
  install?: boolean;
  json: boolean;
}

const add: CommandModule<object, AddArgs> = {
  command: 'add <name>',
  describe: 'Add a remote: the identity this machine dials with and the service its daemon binds',
  builder: (y: Argv) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('identity', { type: 'string', demandOption: true, describe: 'Enrolled Ziti identity file' })
      .option('service', { type: 'string', demandOption: true, describe: "The daemon's Ziti service" }),
  handler: async (args) => {
    const { addRemote } = await import('../../src/client/remote/remotes.js');
    const remote = await addRemote(args.name, { identity: args.identity, service: args.service });
    println(`added remote ${remote.name} (service ${remote.service}, identity ${remote.identity})`);
    println(paint.dim(`check it with: ralph remote test ${remote.name}`));
  },
};

const list: CommandModule<object, { json: boolean }> = {
  command: 'list',
  describe: 'List the configured remotes',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (args) => {
    const { loadRemotes } = await import('../../src/client/remote/remotes.js');
    const remotes = loadRemotes();
    if (args.json) return printJson({ remotes });
    if (remotes.length === 0) {
      println('no remotes — add one with: ralph remote add <name> --identity <file> --service <name>');
      return;
    }
    println(
      table(
        ['NAME', 'SERVICE', 'IDENTITY'],
        remotes.map((r) => [r.name, r.service, r.identity]),
      ),
    );
  },
};

const remove: CommandModule<object, { name: string }> = {
  command: 'remove <name>',
  describe: "Remove a remote (its loops' rows stay in the registry)",
  builder: (y: Argv) => y.positional('name', { type: 'string', demandOption: true }),
  handler: async (args) => {
    const { removeRemote } = await import('../../src/client/remote/remotes.js');
    const remote = await removeRemote(args.name);
    println(`removed remote ${remote.name}`);
  },
};

const test: CommandModule<object, NameArgs> = {
  command: 'test <name>',
  describe: "Dial a remote's daemon, authenticate, ask its health; prints each step's time",
  builder: (y: Argv) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('timeout', { type: 'string', describe: 'Give up after this long (default 15s)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (args) => {
    const { testRemote } = await import('../../src/client/remote/remote-commands.js');
    const steps: { step: string; ms: number }[] = [];
    const timeoutMs = args.timeout === undefined ? undefined : parseDuration(args.timeout, '--timeout');
    const result = await testRemote(
      args.name,
      (step, ms) => {
        steps.push({ step, ms: Math.round(ms * 10) / 10 });
        if (!args.json) println(`${step.padEnd(13)} ${ms.toFixed(1).padStart(8)} ms`);
      },
      timeoutMs === undefined ? {} : { timeoutMs },
    );
    if (args.json) return printJson({ ...result, steps });
    const h = result.health;
    println(
      `${paint.green('ok')}: ${h.hostname} ralph ${h.version}, ${h.active_loops}/${h.max_loops} loops, ` +
        `service ${h.service}${h.bound ? '' : ' (not bound)'}, you are ${result.identity ?? '?'} (${result.role ?? 'no role'})`,
    );
  },
};

const startLoop: CommandModule<object, StartLoopArgs> = {
  command: 'start-loop <remote> <task-dir>',
  describe: "Start a loop on a remote from a task folder in its daemon's workspace",
  builder: (y: Argv) =>
    y
      .positional('remote', { type: 'string', demandOption: true })
      .positional('task-dir', {
        type: 'string',
        demandOption: true,
        describe: 'Task folder, relative to the workspace',
      })
      .option('agent', { type: 'string', describe: 'Agent on the remote (default: its default)' })
      .option('max-iterations', { type: 'number', describe: 'Iteration limit' })
      .option('name', { type: 'string', describe: 'Task name (default: the folder name)' })
      .option('agent-command', { type: 'string', describe: 'A custom agent command line' })
      .option('install', {
        type: 'boolean',
        default: true,
        describe: 'Install a missing agent on the remote from npm (--no-install: fail instead)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the registry entry as JSON' }),
  handler: async (args) => {
    const { startRemoteLoop } = await import('../../src/client/remote/remote-commands.js');
    const session = await startRemoteLoop(args.remote, args['task-dir'], {
      agent: args.agent,
      maxIterations: args['max-iterations'],
      name: args.name,
      agentCommand: args['agent-command'],
      noInstall: args.install === false,
      onInstallLine: (agent, line) => process.stderr.write(`${paint.dim(`${agent}:`)} ${line}\n`),
    });
    if (args.json) return printJson(session);
    println(`${args.remote}:${session.task}: ${colorStatus(session.status)} (${session.agent})`);
    println(paint.dim(`watch it with: ralph attach ${args.remote}:${session.task}`));
  },
};

export const remoteCommand: CommandModule = {
  command: 'remote <command>',
  describe: 'Manage remotes: machines whose ralph daemon this one reaches over OpenZiti',
  builder: (y: Argv) =>
    y
      .command(add as unknown as CommandModule)
      .command(list as unknown as CommandModule)
      .command(remove as unknown as CommandModule)
      .command(test as unknown as CommandModule)
      .command(startLoop as unknown as CommandModule)
      .demandCommand(1, 'name a remote command: add, list, remove, test, start-loop'),
  handler: () => undefined,
};
