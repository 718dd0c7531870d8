/**
 * The real OpenZiti network used by the Ziti tests: a controller and an edge router on loopback,
 * provisioned with the identities, services and policies the tests need. The logic lives in
 * scripts/ziti-testnet-lib.mjs so that `node scripts/ziti-testnet.mjs up` runs the same network.
 *
 * One network can serve a whole test run: test/ziti/global-setup.ts starts it and publishes its
 * description file in $RALPH_ZITI_TESTNET; acquireTestNetwork() attaches to it, or starts a private
 * network when there is none.
 */
import {
  INSTALL_HINT,
  TESTNET_ENV,
  findZitiBinary,
  loadTestNetwork,
  startTestNetwork,
} from '../../scripts/ziti-testnet-lib.mjs';
import type { StartOptions, TestNetwork } from '../../scripts/ziti-testnet-lib.mjs';

export {
  INSTALL_HINT,
  TESTNET_ENV,
  TestnetError,
  addEdgeSubsection,
  findZitiBinary,
  loadTestNetwork,
  startTestNetwork,
} from '../../scripts/ziti-testnet-lib.mjs';
export type {
  AddedRouter,
  ControllerConfigPatch,
  EnrolledIdentity,
  StartOptions,
  TestNetwork,
  TestNetworkDescription,
  ZitiProcess,
} from '../../scripts/ziti-testnet-lib.mjs';

/** Set to 1 to make the Ziti tests fail, instead of being skipped, when there is no `ziti` CLI. */
export const REQUIRE_ZITI_ENV = 'RALPH_REQUIRE_ZITI';

let warned = false;

/**
 * Whether the Ziti tests should run. False only when the `ziti` CLI is missing and
 * $RALPH_REQUIRE_ZITI is not 1; then a notice is printed once per process. Use as
 * `describe.skipIf(!zitiTestsEnabled())(...)`.
 */
export function zitiTestsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[TESTNET_ENV] || findZitiBinary(env) !== null) return true;
  if (env[REQUIRE_ZITI_ENV] === '1') return true;
  if (!warned) {
    warned = true;
    console.warn(
      `[ziti] SKIPPING the OpenZiti network tests: the ziti CLI was not found; ${INSTALL_HINT}. ` +
        `Set ${REQUIRE_ZITI_ENV}=1 to make its absence a failure.`,
    );
  }
  return false;
}

/**
 * The network for this test file: the run-wide one named by $RALPH_ZITI_TESTNET if there is one
 * (its stop() is then a no-op), else a private one that stop() tears down. Always call stop() in
 * afterAll.
 */
export async function acquireTestNetwork(options: StartOptions = {}): Promise<TestNetwork> {
  const shared = process.env[TESTNET_ENV];
  if (shared) return loadTestNetwork(shared);
  return startTestNetwork(options);
}

/** Same as zitiTestsEnabled(): whether the Ziti tests should run (see there). */
export const zitiAvailable = zitiTestsEnabled;
