/**
 * `npm run playground`: the bot in a local, Slack-like page, with no Slack workspace and
 * (without ANTHROPIC_API_KEY) no API key. A development and demo tool, never a way to run
 * the bot for people: it refuses NODE_ENV=production and listens on 127.0.0.1 only.
 */
import { createLogger } from '../src/ops/logger.js';
import { readPlaygroundEnv } from './env.js';
import { startPlayground } from './start.js';

const read = readPlaygroundEnv(process.env);
if (read.kind !== 'ok') {
  // 'production' and 'invalid' alike: say why, start nothing.
  process.stderr.write(`${read.message}\n`);
  process.exit(1);
}
const env = read.env;

const started = performance.now();
const log = createLogger(env.LOG_LEVEL);
try {
  const playground = await startPlayground({
    log,
    port: env.PLAYGROUND_PORT,
    anthropicApiKey: env.ANTHROPIC_API_KEY,
    agentId: env.AGENT_ID,
    environmentId: env.ENVIRONMENT_ID,
  });
  const agent =
    playground.agent === 'demo'
      ? 'the built-in demo agent (scripted; set ANTHROPIC_API_KEY to use the Managed Agents API)'
      : 'the Managed Agents API (ANTHROPIC_API_KEY)';
  process.stdout.write(
    `\nPlayground ready in ${Math.round(performance.now() - started)} ms: ${playground.url}\n` +
      `Sessions run on ${agent}. Type /agent <task> in #playground. Ctrl-C stops it.\n\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    playground.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'playground shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`The playground could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
