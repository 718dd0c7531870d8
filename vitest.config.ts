import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'tui/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One OpenZiti test network for the whole run (skipped with a notice when the ziti CLI is missing).
    globalSetup: ['test/ziti/global-setup.ts'],
    reporters: ['default'],
  },
});
