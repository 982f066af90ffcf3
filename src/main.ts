import { parseEnv } from './config/env.js';
import { AgentsConfigError } from './config/load-agents-file.js';
import { createLogger } from './ops/logger.js';
import { startBot } from './bot.js';

const parsed = parseEnv(process.env);
if (parsed.kind === 'invalid') {
  process.stderr.write(`${parsed.message}\n`);
  process.exit(1);
}
const log = createLogger(parsed.env.LOG_LEVEL);

process.on('unhandledRejection', (reason) => {
  log.error({ err: reason }, 'unhandled promise rejection');
});

try {
  const bot = await startBot(parsed.env, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    bot.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  if (error instanceof AgentsConfigError) {
    // The file's own problems, one per line, are the whole message: no stack to wade through.
    log.fatal({ problems: error.lines }, 'the agent profiles file is invalid');
    process.stderr.write(`${error.lines.join('\n')}\n`);
    process.exit(1);
  }
  log.fatal({ err: error }, 'could not start');
  process.stderr.write(`Could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
