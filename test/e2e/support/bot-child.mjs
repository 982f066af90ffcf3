// The built bot in a child process, as `npm start` runs it, but with the test knobs startBot
// takes (JSON in BOT_TEST_OPTIONS): fault tests kill this process with SIGKILL. BOT_DIST: where
// it was built (relative to the repository).
const dist = new URL(`../../../${process.env.BOT_DIST ?? 'dist'}/src/`, import.meta.url);
const { parseEnv } = await import(new URL('config/env.js', dist).href);
const { createLogger } = await import(new URL('ops/logger.js', dist).href);
const { startBot } = await import(new URL('bot.js', dist).href);

const parsed = parseEnv(process.env);
if (parsed.kind === 'invalid') {
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
