/**
 * The playground, composed: the fake Slack (the Web API methods the bot uses, signed
 * delivery, Slack's rate limits), the real bot started by the same `startBot` as
 * `npm start`, the demo agent on the fake Managed Agents server (or the real API when an
 * API key is given), and the page server. Nothing here is part of the production path.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../src/config/env.js';
import { startBot, type RunningBot } from '../src/bot.js';
import type { Logger } from '../src/ops/logger.js';
import { startFakeManagedAgents, type FakeManagedAgents } from '../test/fakes/managed-agents/index.js';
import { SlackSender, startFakeSlack, type FakeSlack } from '../test/fakes/slack/index.js';
import { demoAgent } from './demo-agent.js';
import { startPageServer } from './server.js';

export const PLAYGROUND_CHANNEL = { id: 'CPLAYGROUND', name: 'playground' };
export const PLAYGROUND_PERSON = { id: 'UYOU', name: 'You' };

export type PlaygroundOptions = {
  log: Logger;
  /** The page's port on 127.0.0.1 (0: any free one). */
  port: number;
  /** Sessions run on the real Managed Agents API with this key; without one, on the demo agent. */
  anthropicApiKey?: string | undefined;
  /** Passed through to the bot in API mode (otherwise it creates a default agent and environment). */
  agentId?: string | undefined;
  environmentId?: string | undefined;
  /** The demo agent's pause between streamed pieces. */
  demoPaceMs?: number;
};

export type Playground = {
  url: string;
  agent: 'demo' | 'api';
  slack: FakeSlack;
  /** The fake Managed Agents server behind the demo agent (demo mode only). */
  agents: FakeManagedAgents | undefined;
  bot: RunningBot;
  close(): Promise<void>;
};

export async function startPlayground(o: PlaygroundOptions): Promise<Playground> {
  const slack = await startFakeSlack({ enforceRateLimits: true });
  slack.users.set(PLAYGROUND_PERSON.id, { id: PLAYGROUND_PERSON.id, name: 'you', real_name: PLAYGROUND_PERSON.name });
  const demoKey = `playground-${randomBytes(8).toString('hex')}`;
  const agents = o.anthropicApiKey ? undefined : await startFakeManagedAgents({ apiKey: demoKey });
  if (agents) agents.onTurn = demoAgent(agents, { paceMs: o.demoPaceMs ?? 200 });
  // A fresh store per run: the fake Slack forgets its threads when the playground stops.
  const dir = mkdtempSync(join(tmpdir(), 'slack-agents-playground-'));
  const signingSecret = randomBytes(16).toString('hex');
  const parsed = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
    ANTHROPIC_API_KEY: o.anthropicApiKey ?? demoKey,
    ...(agents ? { ANTHROPIC_BASE_URL: agents.url } : {}),
    ...(o.agentId ? { AGENT_ID: o.agentId } : {}),
    ...(o.environmentId ? { ENVIRONMENT_ID: o.environmentId } : {}),
    STORE_URL: `sqlite://${join(dir, 'playground.sqlite')}`,
    PORT: '0',
  });
  const cleanUp = async () => {
    await agents?.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  };
  if (parsed.kind === 'invalid') {
    await cleanUp();
    throw new Error(parsed.message);
  }
  let bot: RunningBot;
  try {
    bot = await startBot(parsed.env, o.log);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const sender = new SlackSender({ url: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret, fake: slack });
  const agent = agents ? 'demo' : 'api';
  const page = await startPageServer({ slack, sender, agent, me: PLAYGROUND_PERSON, channel: PLAYGROUND_CHANNEL, port: o.port }).catch(
    async (error: unknown) => {
      await bot.close();
      await cleanUp();
      throw error;
    },
  );
  let closing: Promise<void> | undefined;
  return {
    url: page.url,
    agent,
    slack,
    agents,
    bot,
    close: () =>
      (closing ??= (async () => {
        await page.close();
        await bot.close();
        await cleanUp();
      })()),
  };
}
