import { configDefaults, defineConfig } from 'vitest/config';

const E2E = 'test/e2e/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      // One file at a time, as vitest does on two cores by default (cores - 1): each of these
      // starts processes (the bot, npm, tsc, Chromium, Redis) that need the cores, and two or
      // three of them side by side on two cores ran out of their time. The e2e project's
      // globalSetup runs only when one of its files is in the run.
      {
        extends: true,
        test: { name: 'e2e', include: [E2E], globalSetup: ['test/e2e/support/build.ts'], sequence: { groupOrder: 0 }, maxWorkers: 1 },
      },
      // The rest, three files at a time (never beside the e2e files): most of their time is waiting (Slack's rate budgets pace the
      // bot's posts at about one a second per channel), not computing, and one file at a time
      // kept two cores well under one busy. VITEST_MAX_WORKERS overrides both numbers.
      {
        extends: true,
        test: {
          name: 'unit and integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, E2E],
          sequence: { groupOrder: 1 },
          maxWorkers: 3,
        },
      },
    ],
  },
});
