#!/usr/bin/env node
// Runs the local OpenZiti test network by hand.
//
//   node scripts/ziti-testnet.mjs up      start it, print its JSON description, run until Ctrl-C
//   node scripts/ziti-testnet.mjs check   tell whether the ziti CLI is installed
//
// See docs/ziti-testnet.md.
import { execFileSync } from 'node:child_process';
import { INSTALL_HINT, TESTNET_ENV, findZitiBinary, startTestNetwork } from './ziti-testnet-lib.mjs';

const USAGE = `usage: node scripts/ziti-testnet.mjs <up|check> [--timeout <seconds>]

  up      start a controller and an edge router on 127.0.0.1, provision the ralph test identities,
          services and policies, print the network's JSON description on stdout, and keep running
          until Ctrl-C (SIGINT) or SIGTERM; then stop everything and delete its temporary directory
  check   print the path and version of the ziti CLI, or how to install it (exit status 1)`;

function check() {
  const bin = findZitiBinary();
  if (!bin) {
    process.stderr.write(`ziti CLI not found; ${INSTALL_HINT}\n`);
    return 1;
  }
  const version = execFileSync(bin, ['version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  process.stdout.write(`${bin} ${version}\n`);
  return 0;
}

/** @param {number} timeoutSeconds */
async function up(timeoutSeconds) {
  process.stderr.write('starting the ziti test network on 127.0.0.1 ...\n');
  // Until it is up, a signal just exits: the network's exit hook kills what started and deletes it.
  /** @param {NodeJS.Signals} signal */
  const early = (signal) => {
    process.stderr.write(`\n${signal} during start-up: abandoning the ziti test network\n`);
    process.exit(130);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, early);
  const network = await startTestNetwork({ timeoutMs: timeoutSeconds * 1000 });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(signal, early);
  const {
    ziti: _ziti,
    spawnZiti: _spawn,
    stopRouter: _sr,
    startRouter: _st,
    restartRouter: _rr,
    stop,
    ...desc
  } = network;
  process.stdout.write(`${JSON.stringify(desc, null, 2)}\n`);
  process.stderr.write(
    [
      '',
      `ready. controller ${network.ctrlUrl}, edge router 127.0.0.1:${network.routerPort}`,
      `identity files: ${network.home}/identities`,
      `test files attach with: ${TESTNET_ENV}=${network.descriptionFile}`,
      `CLI: HOME=${network.home}/cli-home ZITI_CONFIG_DIR=${network.home}/cli-config ${network.bin} edge list services`,
      'press Ctrl-C to stop and delete it',
      '',
    ].join('\n'),
  );
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  /** @param {NodeJS.Signals} signal */
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the ziti test network ...\n`);
    stop()
      .then(() => {
        clearInterval(keepAlive);
        process.stderr.write('stopped\n');
        process.exit(0);
      })
      .catch((err) => {
        process.stderr.write(`error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
}

/** @param {string[]} args */
function parseTimeout(args) {
  const i = args.indexOf('--timeout');
  if (i === -1) return 120;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--timeout needs a positive number of seconds`);
  return value;
}

/**
 * @param {string[]} args
 * @returns {Promise<number | undefined>}
 */
async function main(args) {
  const [command] = args;
  if (command === 'check') return check();
  if (command === 'up') {
    await up(parseTimeout(args));
    return undefined;
  }
  process.stderr.write(`${USAGE}\n`);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ziti-testnet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
