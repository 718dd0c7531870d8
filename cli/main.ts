#!/usr/bin/env node
/** The `ralph` command line: yargs parses, one module per command, one top-level catch. */
import { prepareArgv } from './argv.js';
import { commands } from './commands/index.js';
import { runWithoutYargs } from './fast-path.js';
import { withHelpLayout } from './help-layout.js';
import { runCli } from './run.js';
import { ralphVersion } from '../src/version.js';

async function main(argv: string[]): Promise<void> {
  // Plain `ralph` in an interactive terminal opens the fleet view; anywhere else it asks for a command.
  if (argv.length === 0 && process.stdin.isTTY && process.stdout.isTTY) {
    const { openTui } = await import('./commands/tui.js');
    process.exitCode = await openTui();
    return;
  }
  if (await runWithoutYargs(argv)) return;
  const words = prepareArgv(argv);
  const { default: yargs } = await import('yargs');
  let releaseConsole = (): void => undefined;
  const parser = yargs(words.argv)
    .scriptName('ralph')
    .usage(
      '$0 <command> [options]\n\nSupervise Ralph loops: coding agents run again and again until every story passes.',
    )
    .command(commands)
    .middleware((args) => {
      releaseConsole();
      words.restore(args);
    })
    .demandCommand(1, 'name a command (see ralph --help)')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(ralphVersion())
    .wrap(null)
    .epilogue('Exit codes and every command are described in docs/cli.md.')
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(usageMessage(msg, argv)), { usage: true });
    });
  await withHelpLayout(Math.min(110, process.stdout.columns || 80), async (release) => {
    releaseConsole = release;
    await parser.parseAsync();
  });
}

/** yargs reports an unknown command as "Did you mean …?" or as an unknown argument; say what it is. */
function usageMessage(msg: string, argv: string[]): string {
  const first = argv.find((arg) => !arg.startsWith('-'));
  const known = commands.map((c) => String(c.command).split(' ')[0]);
  if (first === undefined || known.includes(first)) return msg;
  if (msg.startsWith('Did you mean ')) return `unknown command ${first}; did you mean ${msg.slice(13)}`;
  if (msg === `Unknown argument: ${first}`) return `unknown command ${first}`;
  return msg;
}

// No top-level await here: the commands' chunks can import code that the bundle placed in this entry module,
// and a module still evaluating (awaiting a command's chunk) would leave that chunk waiting for it forever
// (Node exits 13 with nothing said). test/cli/bundle.test.ts checks every bundled file for it.
// What yargs' hideBin does for a plain `node main.js …` or an installed `ralph …`.
runCli(() => main(process.argv.slice(2)));
