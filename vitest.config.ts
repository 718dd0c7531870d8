import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'tui/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Runner processes the tests start check every RPC result against the method table. Commands ask remotes
    // directly, starting no background link, except in the link's own tests (RALPH_NO_LINK='' there).
    env: { RALPH_CHECK_RESULTS: '1', RALPH_NO_LINK: '1' },
    // One OpenZiti test network for the whole run (skipped with a notice when the ziti CLI is missing).
    globalSetup: ['test/ziti/global-setup.ts'],
    reporters: ['default'],
  },
});
