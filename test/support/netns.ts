/**
 * Network namespaces for the tests (the logic is scripts/netns-lib.mjs, shared with bench/): a namespace with a
 * unique name per test run, a veth pair to the root namespace carrying a private /30, no default route, helpers
 * to run processes inside it and to cut and restore the link.
 *
 * Needs root and `ip netns`. Without them netnsTestsEnabled() prints a notice once and the tests skip; with
 * RALPH_REQUIRE_NETNS=1 (set by .ci/run) they run anyway and fail at createNetns().
 */
import { ENABLE_HINT, netnsUnavailableReason } from '../../scripts/netns-lib.mjs';

export { createNetns, netnsUnavailableReason } from '../../scripts/netns-lib.mjs';
export type { Netns, NetnsSpawnOptions } from '../../scripts/netns-lib.mjs';

/** Set to 1 to make the namespace tests fail, instead of being skipped, when namespaces are unavailable. */
export const REQUIRE_NETNS_ENV = 'RALPH_REQUIRE_NETNS';

let warned = false;

/**
 * Whether the namespace tests should run: true when namespaces work or $RALPH_REQUIRE_NETNS is 1. Otherwise
 * prints a notice once per process naming how to enable them. Use as `describe.skipIf(!netnsTestsEnabled())`.
 */
export function netnsTestsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const reason = netnsUnavailableReason();
  if (reason === null || env[REQUIRE_NETNS_ENV] === '1') return true;
  if (!warned) {
    warned = true;
    console.warn(
      `[netns] SKIPPING the network-namespace tests (${reason}): ${ENABLE_HINT}. ` +
        `Set ${REQUIRE_NETNS_ENV}=1 to make this a failure.`,
    );
  }
  return false;
}
