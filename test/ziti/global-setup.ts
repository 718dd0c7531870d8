/**
 * Vitest globalSetup: starts one OpenZiti test network for the whole run and publishes its
 * description file in $RALPH_ZITI_TESTNET, which acquireTestNetwork() in the test files picks up.
 * Does nothing (the tests then skip with a notice) when there is no `ziti` CLI, unless
 * $RALPH_REQUIRE_ZITI=1.
 *
 * With $RALPH_ZITI_LOG_SUMMARY naming a file, the teardown appends one line to it: how often the router and
 * the controller logged the events that delay binds and dials (rate limiting, a busy controller, a data model
 * that could not be applied), so that a run's end says whether the network itself was struggling.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import {
  TESTNET_ENV,
  findZitiBinary,
  startTestNetwork,
  zitiTestsEnabled,
  type TestNetwork,
} from './network.js';

const NOTABLE: Array<[string, RegExp]> = [
  ['rate limiter hit', /rate limiter hit/],
  ['rate limit work expired', /rate limit work expired/],
  ['controller too busy', /too busy/],
  ['change set not applied', /could not apply change set/],
  ['errors', /"level":"(error|fatal)"/],
];

function summarizeLogs(network: TestNetwork, file: string): void {
  const parts: string[] = [];
  for (const [name, log] of Object.entries(network.logs)) {
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    const counts = NOTABLE.map(([label, re]) => `${label} ${lines.filter((l) => re.test(l)).length}`);
    parts.push(`${name}: ${counts.join(', ')}`);
  }
  appendFileSync(file, `  ziti test network logs (node ${process.version}): ${parts.join('; ')}\n`);
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[TESTNET_ENV]) return undefined;
  if (findZitiBinary() === null && !zitiTestsEnabled()) return undefined;
  const network = await startTestNetwork();
  process.env[TESTNET_ENV] = network.descriptionFile;
  return async () => {
    delete process.env[TESTNET_ENV];
    const summary = process.env.RALPH_ZITI_LOG_SUMMARY;
    if (summary) summarizeLogs(network, summary);
    await network.stop();
  };
}
