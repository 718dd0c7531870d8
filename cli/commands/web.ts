import { spawn } from 'node:child_process';
import type { Argv, CommandModule } from 'yargs';
import { wholeNumber } from '../numbers.js';
import { println } from '../output.js';

interface WebArgs {
  port: string | number;
  socket?: string;
  'read-only': boolean;
  open: boolean;
}

export const webCommand: CommandModule<object, WebArgs> = {
  command: 'web',
  describe: 'Serve the fleet to a browser on 127.0.0.1 (the URL it prints carries a one-time token)',
  builder: (y: Argv) =>
    y
      .option('port', { type: 'string', default: '0', describe: 'TCP port on 127.0.0.1 (0: a free one)' })
      .option('socket', { type: 'string', describe: 'Serve on this Unix socket instead of TCP' })
      .option('read-only', {
        type: 'boolean',
        default: false,
        describe: 'Observe only: no stop, pause or keys',
      })
      .option('open', { type: 'boolean', default: false, describe: 'Open the URL in the default browser' }),
  handler: async (args) => {
    const port = wholeNumber(args.port, '--port', 0);
    if (port > 65_535) {
      const { RalphError, ExitCode } = await import('../../src/errors.js');
      throw new RalphError('INVALID_OPTION', `--port must be at most 65535, got ${port}`, {
        exitCode: ExitCode.usage,
      });
    }
    const { startWebServer } = await import('../../src/web/index.js');
    const server = await startWebServer({
      port,
      ...(args.socket === undefined ? {} : { socketPath: args.socket }),
      readOnly: args['read-only'],
      logger: (msg) => process.stderr.write(`ralph web: ${msg}\n`),
    });
    const where = server.socketPath === null ? server.url : `unix socket ${server.socketPath}`;
    println(`ralph web serving on ${where}${server.readOnly ? ' (read-only)' : ''}`);
    println(`open: ${server.loginUrl}`);
    println('the link works once; Ctrl-C stops the server');
    if (args.open && server.socketPath === null) openBrowser(server.loginUrl);
    await new Promise<void>((done) => {
      process.once('SIGTERM', done);
      process.once('SIGINT', done);
    });
    await server.close();
  },
};

/** Hands the URL to the desktop's opener; a missing opener only means the user opens it by hand. */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : 'xdg-open';
  try {
    const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () =>
      process.stderr.write(`ralph web: could not run ${command}; open the link by hand\n`),
    );
    child.unref();
  } catch {
    process.stderr.write(`ralph web: could not run ${command}; open the link by hand\n`);
  }
}
