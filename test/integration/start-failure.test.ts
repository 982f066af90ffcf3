import { createServer, type Server } from 'node:net';
import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot } from '../../src/bot.js';
import { parseEnv } from '../../src/config/env.js';
import { startRedisServer, type RedisServer } from '../e2e/support/redis-server.js';
import { startFakeManagedAgents, type FakeManagedAgents } from '../fakes/managed-agents/index.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/index.js';
import { memoryLogger } from '../support/log-sink.js';

// A start that fails half-way (Slack refusing the token, the port taken) must give back what
// it had opened: a supervisor that retries, or a test that goes on, would otherwise pile up
// Redis connections and timers. A redis-server of the test's own counts the connections.

let redis: RedisServer | undefined;
let slack: FakeSlack | undefined;
let agents: FakeManagedAgents | undefined;
let taken: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (taken ? taken.close(() => resolve()) : resolve()));
  taken = undefined;
  await slack?.close();
  await agents?.close();
  await redis?.close();
});

/** Clients connected to the test's redis-server, besides the one asking. */
async function otherClients(url: string): Promise<number> {
  const probe = createClient({ url });
  await probe.connect();
  try {
    // A client that closed its socket a moment ago may still be counted until the server has
    // read the close: ask again (each round trip lets the server run its event loop) a bounded number of times.
    let count = Number.NaN;
    for (let i = 0; i < 50; i++) {
      const info = await probe.info('clients');
      count = Number(/connected_clients:(\d+)/.exec(info)?.[1]) - 1;
      if (count === 0) break;
    }
    return count;
  } finally {
    probe.destroy();
  }
}

async function envWith(overrides: Record<string, string>) {
  redis = await startRedisServer();
  slack = await startFakeSlack();
  agents = await startFakeManagedAgents();
  const parsed = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: 'test-signing-secret',
    SLACK_API_URL: slack.apiUrl,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: agents.url,
    STORE_URL: redis.url,
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...overrides,
  });
  if (parsed.kind === 'invalid') throw new Error(parsed.message);
  return parsed.env;
}

describe('a start that fails half-way', () => {
  it('closes its Redis connections when Slack refuses the bot token', async () => {
    const env = await envWith({ SLACK_BOT_TOKEN: 'xoxb-revoked' });
    const logs = memoryLogger('debug');
    await expect(startBot(env, logs.log)).rejects.toThrow(/invalid_auth/);
    expect(await otherClients(redis!.url)).toBe(0);
  });

  it('closes everything it had opened when its port is taken', async () => {
    taken = createServer();
    const port = await new Promise<number>((resolve) => taken!.listen(0, () => resolve((taken!.address() as { port: number }).port)));
    const env = await envWith({ PORT: String(port) });
    const logs = memoryLogger('debug');
    await expect(startBot(env, logs.log)).rejects.toThrow(/EADDRINUSE/);
    expect(await otherClients(redis!.url)).toBe(0);
  });
});
