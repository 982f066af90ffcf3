// The built bot (dist/) in a child process, as `npm start` runs it, but with the test knobs
// startBot takes (JSON in BOT_TEST_OPTIONS): fault tests kill this process with SIGKILL.
import { parseEnv } from '../../../dist/src/config/env.js';
import { createLogger } from '../../../dist/src/ops/logger.js';
import { startBot } from '../../../dist/src/bot.js';

const parsed = parseEnv(process.env);
if (!parsed.ok) {
  process.stderr.write(`${parsed.message}\n`);
  process.exit(1);
}
const log = createLogger(parsed.env.LOG_LEVEL);
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
const bot = await startBot(parsed.env, log, JSON.parse(process.env.BOT_TEST_OPTIONS ?? '{}'));
process.on('SIGTERM', () => {
  bot.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
