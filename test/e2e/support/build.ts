import { ensureBuilt } from './bot-process.js';

/**
 * globalSetup of the e2e files (vitest.config.ts): the bot is built into TEST_DIST once,
 * before any of them starts, instead of by each file that runs it (they run side by side).
 */
export default function setup(): void {
  ensureBuilt();
}
