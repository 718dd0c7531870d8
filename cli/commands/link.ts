import type { Argv, CommandModule } from 'yargs';
import { formatAge, paint, printJson, println, table } from '../output.js';

const status: CommandModule<object, { json: boolean }> = {
  command: 'status',
  describe: 'Show whether the link runs, since when, and the remote connections it keeps',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (args) => {
    const { linkStatus } = await import('../../src/client/remote/link/commands.js');
    const state = await linkStatus();
    if (args.json) return printJson(state);
    if (!state.running) {
      println(`link: not running (${state.socket})`);
      return;
    }
    println(
      `link: running, pid ${state.pid}, ralph ${state.version}, up ${formatAge(state.started_at)}, ` +
        `${state.clients} client${state.clients === 1 ? '' : 's'} now, exits after ` +
        `${Math.round(state.idle_exit_ms / 1000)}s with none (${state.socket})`,
    );
    if (state.remotes.length === 0) return;
    println(
      table(
        ['REMOTE', 'SERVICE', 'STATE', 'SINCE', 'CALLS', 'LAST ERROR'],
        state.remotes.map((r) => [
          r.name,
          r.service,
          r.state,
          r.connected_at === null ? '-' : formatAge(r.connected_at),
          String(r.calls),
          r.last_error === null ? '' : paint.dim(r.last_error),
        ]),
      ),
    );
  },
};

const stop: CommandModule = {
  command: 'stop',
  describe: 'End the link (the next command that asks a remote starts a new one)',
  handler: async () => {
    const { stopLink } = await import('../../src/client/remote/link/commands.js');
    const stopped = await stopLink();
    println(stopped === null ? 'link: not running' : `stopped the link (pid ${stopped.pid})`);
  },
};

const start: CommandModule = {
  command: 'start',
  describe: 'Start the link in the background now, unless it runs',
  handler: async () => {
    const { ensureLinkRunning } = await import('../../src/client/remote/link/commands.js');
    const { hello, started } = await ensureLinkRunning();
    println(`${started ? 'started the link' : 'link: already running'} (pid ${hello.pid})`);
  },
};

const serve: CommandModule = {
  command: 'serve',
  describe: 'Run the link in the foreground, logging to stderr (what start runs in the background)',
  handler: async () => {
    const { runLinkProcess } = await import('../../src/client/remote/link/run.js');
    const log = (msg: string, ctx?: object): void => {
      const error = (ctx as { error?: unknown } | undefined)?.error;
      process.stderr.write(`${msg}${error instanceof Error ? `: ${error.message}` : ''}\n`);
    };
    const why = await runLinkProcess({ log });
    println(why === 'already running' ? 'link: already running' : `link stopped: ${why}`);
  },
};

export const linkCommand: CommandModule = {
  command: 'link <command>',
  describe: 'The background process that keeps remote connections open for status (start, status, stop)',
  builder: (y: Argv) =>
    y
      .command(status as unknown as CommandModule)
      .command(stop)
      .command(start)
      .command(serve)
      .demandCommand(1, 'name a link command: status, stop, start, serve'),
  handler: () => undefined,
};
