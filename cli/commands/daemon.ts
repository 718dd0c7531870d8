import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { println } from '../output.js';
import { daemonAuditCommand } from './daemon-audit.js';
import { daemonOrphansCommand } from './daemon-orphans.js';

interface DaemonArgs {
  config?: string;
  ziti: boolean;
  log: string;
}

interface InitArgs {
  out?: string;
  identity?: string;
  service?: string;
  workspace?: string;
  force: boolean;
}

/** One log line on stderr: JSON (`{"time","msg",...}`) or text. Errors become their message. */
function logger(format: string): (msg: string, ctx?: object) => void {
  return (msg, ctx) => {
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(ctx ?? {})) {
      fields[key] = value instanceof Error ? value.message : value;
    }
    const time = new Date().toISOString();
    const line =
      format === 'text'
        ? `${time} ${msg}${Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`
        : JSON.stringify({ time, msg, ...fields });
    process.stderr.write(`${line}\n`);
  };
}

const initCommand: CommandModule<object, InitArgs> = {
  command: 'init',
  describe: 'Write a commented daemon configuration (to stdout, or --out file)',
  builder: (y: Argv) =>
    y
      .option('out', { type: 'string', describe: 'Write it to this file (mode 0600) instead of stdout' })
      .option('identity', { type: 'string', describe: "The daemon's enrolled Ziti identity file" })
      .option('service', { type: 'string', describe: 'The Ziti service it binds' })
      .option('workspace', { type: 'string', describe: 'The folder task folders must be in' })
      .option('force', { type: 'boolean', default: false, describe: 'Overwrite an existing --out file' }),
  handler: async (args) => {
    const { daemonConfigTemplate } = await import('../../src/daemon/config.js');
    const { RalphError, ExitCode } = await import('../../src/errors.js');
    const text = daemonConfigTemplate({
      identity: args.identity === undefined ? undefined : resolve(args.identity),
      service: args.service,
      workspace: args.workspace === undefined ? undefined : resolve(args.workspace),
    });
    if (args.out === undefined) {
      process.stdout.write(text);
      return;
    }
    const out = resolve(args.out);
    if (existsSync(out) && !args.force) {
      throw new RalphError('INVALID_OPTION', `${out} exists already`, {
        exitCode: ExitCode.conflict,
        hint: 'pass --force to overwrite it',
      });
    }
    writeFileSync(out, text, { mode: 0o600 });
    println(`wrote ${out}`);
  },
};

export const daemonCommand: CommandModule<object, DaemonArgs> = {
  command: 'daemon',
  describe: 'Run the remote daemon in the foreground: one Ziti service and a local socket for this box',
  builder: (y: Argv) =>
    y
      .command(initCommand as unknown as CommandModule)
      .command(daemonAuditCommand as unknown as CommandModule)
      .command(daemonOrphansCommand as unknown as CommandModule)
      .option('config', {
        type: 'string',
        describe: 'The daemon configuration file (see: ralph daemon init)',
      })
      .option('ziti', {
        type: 'boolean',
        default: true,
        describe: 'Bind the Ziti service (--no-ziti: serve the local socket only)',
      })
      .option('log', { choices: ['json', 'text'], default: 'json', describe: 'Log line format on stderr' }),
  handler: async (args) => {
    const { RalphError, ExitCode } = await import('../../src/errors.js');
    if (args.config === undefined) {
      throw new RalphError('INVALID_OPTION', 'ralph daemon needs --config <file>', {
        exitCode: ExitCode.usage,
        hint: 'write one with: ralph daemon init --out daemon.jsonc',
      });
    }
    // Before anything else: this may start the process over with the daemon's heap flags.
    const { execWithHeapCap } = await import('../../src/daemon/heap.js');
    execWithHeapCap();
    const { loadDaemonConfig } = await import('../../src/daemon/config.js');
    const { startDaemon } = await import('../../src/daemon/server.js');
    const log = logger(args.log);
    const config = loadDaemonConfig(args.config);
    const daemon = await startDaemon(config, { logger: log, ziti: args.ziti });
    log('daemon listening', {
      socket: daemon.socketPath,
      service: args.ziti ? config.service : null,
      workspace: config.workspace,
    });
    const signal = await new Promise<NodeJS.Signals>((done) => {
      process.once('SIGTERM', () => done('SIGTERM'));
      process.once('SIGINT', () => done('SIGINT'));
    });
    log('daemon stopping; loops keep running', { signal });
    await daemon.close();
    log('daemon stopped');
  },
};
