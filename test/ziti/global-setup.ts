/**
 * Vitest globalSetup: starts one OpenZiti test network for the whole run and publishes its
 * description file in $RALPH_ZITI_TESTNET, which acquireTestNetwork() in the test files picks up.
 * Does nothing (the tests then skip with a notice) when there is no `ziti` CLI, unless
 * $RALPH_REQUIRE_ZITI=1.
 */
import { TESTNET_ENV, findZitiBinary, startTestNetwork, zitiTestsEnabled } from './network.js';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[TESTNET_ENV]) return undefined;
  if (findZitiBinary() === null && !zitiTestsEnabled()) return undefined;
  const network = await startTestNetwork();
  process.env[TESTNET_ENV] = network.descriptionFile;
  return async () => {
    delete process.env[TESTNET_ENV];
    await network.stop();
  };
}
