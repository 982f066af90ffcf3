import { configDefaults, defineConfig } from 'vitest/config';

const E2E = 'test/e2e/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Files run side by side. Most of a file's time is waiting (Slack's rate budgets pace the
    // bot's posts at about one a second per channel, child processes start, a browser draws),
    // not computing: one file at a time, vitest's default on two cores (cores - 1), kept them
    // well under one core busy. VITEST_MAX_WORKERS overrides it.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: 'unit and integration', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, E2E] } },
      // The e2e project's globalSetup runs only when one of its files is in the run.
      { extends: true, test: { name: 'e2e', include: [E2E], globalSetup: ['test/e2e/support/build.ts'] } },
    ],
  },
});
