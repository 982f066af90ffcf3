import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, type Env } from '../../src/config/env.js';
import { startBot, type BotOptions, type RunningBot } from '../../src/bot.js';
import { startFakeManagedAgents, type FakeManagedAgents, type FakeOptions } from '../fakes/managed-agents/index.js';
import { SlackSender, SocketSender, startFakeSlack, type FakeSlack, type FakeSlackOptions } from '../fakes/slack/index.js';
import { memoryLogger } from './log-sink.js';

export const SIGNING_SECRET = 'test-signing-secret';

/**
 * What every test bot is started with: no status ticker, and backoffs and retry delays short
 * enough for tests. A second bot of a test (a replica beside the harness's) takes the same.
 */
export const TEST_BOT_OPTIONS: BotOptions = {
  statusIntervalMs: 0,
  slackBackoffMs: 10,
  closeGraceMs: 2000,
  streamBackoff: { initialMs: 20, maxMs: 100 },
  outputRetryDelaysMs: [20, 50],
};

export type Harness = {
  slack: FakeSlack;
  agents: FakeManagedAgents;
  bot: RunningBot;
  /** HTTP mode: signed requests to the bot's /slack/events. */
  sender: SlackSender;
  /** Socket Mode: envelopes over the bot's WebSocket to the fake (socketMode: true). */
  socket: SocketSender;
  env: Env;
  /** Where `agentsConfig` was written (AGENTS_CONFIG); rewrite it and restart to change profiles. */
  agentsConfigPath: string;
  logs: ReturnType<typeof memoryLogger>;
  /** Stop the bot (as a deploy would) and start a new one on the same store and fakes. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
};

/**
 * The real bot (Bolt HTTP receiver, WebClient, Anthropic SDK, keyv store) against the
 * two loopback fakes. Nothing inside the bot is mocked. `socketMode`: the bot gets the
 * fake's app token and no signing secret, so Bolt runs its SocketModeReceiver instead.
 * `agentsConfig`: YAML of an agent profiles file, written to a temporary file that
 * AGENTS_CONFIG then names.
 */
export async function startHarness(
  overrides: Record<string, string> = {},
  opts: {
    socketMode?: boolean;
    slack?: FakeSlackOptions;
    agentsConfig?: string;
    agents?: FakeOptions;
    /** Runs against the fakes before the bot starts (e.g. create an operator's own agent); returns more env. */
    prepare?: (agents: FakeManagedAgents) => Promise<Record<string, string>>;
  } & BotOptions = {},
): Promise<Harness> {
  const { socketMode = false, slack: slackOptions, agentsConfig, agents: agentsOptions, prepare, ...botOptions } = opts;
  const slack = await startFakeSlack(slackOptions);
  const agents = await startFakeManagedAgents(agentsOptions);
  const prepared = prepare ? await prepare(agents) : {};
  const dir = mkdtempSync(join(tmpdir(), 'slack-agents-test-'));
  const agentsConfigPath = join(dir, 'agents.yml');
  if (agentsConfig !== undefined) writeFileSync(agentsConfigPath, agentsConfig);
  const parsed = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-test',
    ...(socketMode ? { SLACK_APP_TOKEN: slack.appToken } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    SLACK_API_URL: slack.apiUrl,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: agents.url,
    STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...(agentsConfig !== undefined ? { AGENTS_CONFIG: agentsConfigPath } : {}),
    ...prepared,
    ...overrides,
  });
  if (parsed.kind === 'invalid') throw new Error(parsed.message);
  const env = parsed.env;
  const logs = memoryLogger('debug');
  const boot = () => startBot(env, logs.log, { ...TEST_BOT_OPTIONS, ...botOptions });
  const h: Harness = {
    slack,
    agents,
    env,
    agentsConfigPath,
    logs,
    bot: await boot(),
    sender: undefined as unknown as SlackSender,
    socket: new SocketSender({ fake: slack }),
    async restart(whileDown) {
      await h.bot.close();
      await whileDown?.();
      h.bot = await boot();
      h.sender = new SlackSender({ url: `http://127.0.0.1:${h.bot.port}/slack/events`, signingSecret: SIGNING_SECRET, fake: slack });
    },
    async close() {
      await h.bot.close();
      await agents.close();
      await slack.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  h.sender = new SlackSender({ url: `http://127.0.0.1:${h.bot.port}/slack/events`, signingSecret: SIGNING_SECRET, fake: slack });
  return h;
}

/** Replies the bot posted in a thread (the root excluded), in order. */
export function botReplies(slack: FakeSlack, channel: string, threadTs: string) {
  return slack.thread(channel, threadTs).filter((m) => m.ts !== threadTs && m.bot_id && !m.deleted);
}

/** Everything the agent said in a thread, as Slack shows it now (text messages joined). */
export function agentText(slack: FakeSlack, channel: string, threadTs: string): string {
  return botReplies(slack, channel, threadTs)
    .map((m) => m.markdown_text)
    .filter((t): t is string => typeof t === 'string')
    .join('\n\n');
}

export function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}
