import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot } from '../../src/bot.js';
import { parseEnv } from '../../src/config/env.js';
import { AgentsConfigError } from '../../src/config/load-agents-file.js';
import { openStore } from '../../src/store/open-store.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import { startFakeManagedAgents } from '../fakes/managed-agents/index.js';
import { appMention, startFakeSlack } from '../fakes/slack/index.js';
import { botReplies, startHarness, type Harness } from '../support/harness.js';
import { memoryLogger } from '../support/log-sink.js';

const FILE = (researchModel = 'claude-opus-5-5') => `
default_profile: general
channels:
  CRESEARCH: research
profiles:
  general:
    agent: { model: claude-sonnet-5-5 }
  research:
    agent: { model: ${researchModel} }
    approvers: [UAPPROVER]
  coding:
    agent: { model: claude-sonnet-5-5, system: You write code. }
    environment: { name: coding-env, packages: { npm: [typescript] } }
`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const rootOf = (harness: Harness, channel: string) => harness.slack.messages(channel).find((m) => !m.thread_ts && m.bot_id);
const cardText = (m: { blocks?: unknown } | undefined) => JSON.stringify(m?.blocks ?? '');

/** The agent (id, pinned version) and environment of every profile, as the fake holds them. */
function provisioned(harness: Harness) {
  const agents = new Map([...harness.agents.agents.values()].map((a) => [a.metadata.slack_profile, a]));
  const envs = new Map([...harness.agents.environments.values()].map((e) => [e.name, e]));
  return (profile: string, envName = `slack-${profile}`) => ({
    agent: { type: 'agent', id: agents.get(profile)!.id, version: agents.get(profile)!.version },
    environment_id: envs.get(envName)!.id,
  });
}

const sessionCreates = (harness: Harness) =>
  harness.agents.requests.filter((r) => r.method === 'POST' && r.path === '/v1/sessions').map((r) => r.body as Record<string, unknown>);

describe('agent profiles in the running bot', () => {
  it('provisions at start and picks the profile by channel, else the default, pinning the agent version', async () => {
    h = await startHarness({}, { agentsConfig: FILE() });
    const target = provisioned(h);
    expect(h.agents.agents.size).toBe(3);

    await h.sender.command({ text: 'find the paper', user: 'U1', channel: 'CRESEARCH' });
    await h.sender.command({ text: 'say hi', user: 'U1', channel: 'COTHER' });
    await h.slack.waitFor(() => cardText(rootOf(h!, 'CRESEARCH')).includes('Done') && cardText(rootOf(h!, 'COTHER')).includes('Done'));
    await h.bot.settled();

    const creates = sessionCreates(h);
    expect(creates.find((c) => (c.metadata as Record<string, string>).slack_channel === 'CRESEARCH')).toMatchObject(target('research'));
    expect(creates.find((c) => (c.metadata as Record<string, string>).slack_channel === 'COTHER')).toMatchObject(target('general'));
    expect(cardText(rootOf(h, 'CRESEARCH'))).toContain('asked the agent (profile `research`)');
    expect(cardText(rootOf(h, 'COTHER'))).toContain('asked the agent (profile `general`)');
  });

  it('honours --profile on /agent and strips it from the prompt', async () => {
    h = await startHarness({}, { agentsConfig: FILE() });
    const target = provisioned(h);
    await h.sender.command({ text: '--profile coding fix the build', user: 'U1', channel: 'CRESEARCH' });
    await h.slack.waitFor(() => cardText(rootOf(h!, 'CRESEARCH')).includes('Done'));
    await h.bot.settled();
    expect(sessionCreates(h)).toEqual([expect.objectContaining(target('coding', 'coding-env'))]);
    const session = [...h.agents.sessions.values()][0]!;
    expect(JSON.stringify(h.agents.received(session.id)[0])).toContain('"text":"fix the build"');
    expect(cardText(rootOf(h, 'CRESEARCH'))).toContain('fix the build');
    expect(cardText(rootOf(h, 'CRESEARCH'))).not.toContain('--profile');
  });

  it('honours --profile=NAME in a mention', async () => {
    h = await startHarness({}, { agentsConfig: FILE() });
    const target = provisioned(h);
    const mention = appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> --profile=research summarise the doc' });
    await h.sender.event(mention);
    await h.slack.waitFor(() => botReplies(h!.slack, 'C1', String(mention.ts)).some((m) => m.markdown_text?.includes('You said')));
    await h.bot.settled();
    expect(sessionCreates(h)).toEqual([expect.objectContaining(target('research'))]);
    const session = [...h.agents.sessions.values()][0]!;
    expect(JSON.stringify(h.agents.received(session.id)[0])).toContain('"text":"summarise the doc"');
  });

  it('answers an unknown profile privately with the list of profiles, and starts nothing', async () => {
    h = await startHarness({}, { agentsConfig: FILE() });
    await h.sender.command({ text: '--profile reserch find the paper', user: 'U1', channel: 'CRESEARCH' });
    const answer = await h.slack.waitFor(() => h!.slack.responseUrlPosts[0]);
    expect(answer.body).toEqual({
      response_type: 'ephemeral',
      text: 'There is no agent profile named `reserch`. Profiles: `general`, `research` (used here by default), `coding`. Use `/agent --profile NAME your task`.',
    });
    await h.bot.settled();
    expect(sessionCreates(h)).toEqual([]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);

    const mention = appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> --profile nope do it' });
    await h.sender.event(mention);
    const ephemeral = await h.slack.waitFor(() => h!.slack.callsTo('chat.postEphemeral')[0]);
    expect(ephemeral.args.text).toMatch(/^There is no agent profile named `nope`\./);
    await h.bot.settled();
    expect(sessionCreates(h)).toEqual([]);
  });

  it('restarts without changing anything, and a changed model starts new sessions on the new version while old threads keep theirs', async () => {
    h = await startHarness({}, { agentsConfig: FILE() });
    const v1 = provisioned(h)('research');
    await h.sender.command({ text: 'first', user: 'U1', channel: 'CRESEARCH' });
    await h.slack.waitFor(() => cardText(rootOf(h!, 'CRESEARCH')).includes('Done'));
    await h.bot.settled();
    const firstRoot = rootOf(h, 'CRESEARCH')!;

    const mark = h.agents.requests.length;
    await h.restart();
    const writes = h.agents.requests.slice(mark).filter((r) => r.method === 'POST' && /^\/v1\/(agents|environments)/.test(r.path));
    expect(writes).toEqual([]);

    writeFileSync(h.agentsConfigPath, FILE('claude-opus-5-6'));
    await h.restart();
    const v2 = provisioned(h)('research');
    expect(v2.agent).toEqual({ ...v1.agent, version: 2 });

    await h.sender.command({ text: 'second', user: 'U1', channel: 'CRESEARCH' });
    await h.slack.waitFor(() => h!.slack.messages('CRESEARCH').filter((m) => !m.thread_ts && m.bot_id && cardText(m).includes('Done')).length === 2);
    await h.bot.settled();
    expect(sessionCreates(h).map((c) => c.agent)).toEqual([v1.agent, v2.agent]);
    const sessions = [...h.agents.sessions.values()];
    expect(sessions.map((s) => s.agent.version)).toEqual([1, 2]);
    // The thread records keep profile and pinned version; the first card still names its profile.
    const kv = await openStore(h.env.STORE_URL);
    try {
      const records = new ThreadRecords(kv);
      const [first, second] = await Promise.all(
        h.slack
          .messages('CRESEARCH')
          .filter((m) => !m.thread_ts && m.bot_id)
          .map((m) => records.get({ team: 'T1', channel: 'CRESEARCH', threadTs: m.ts })),
      );
      expect(first).toMatchObject({ profile: 'research', agentVersion: 1 });
      expect(second).toMatchObject({ profile: 'research', agentVersion: 2 });
    } finally {
      await kv.disconnect();
    }
    expect(cardText(h.slack.messages('CRESEARCH').find((m) => m.ts === firstRoot.ts))).toContain('profile `research`');
  });

  it('exposes the approvers of a profile', async () => {
    h = await startHarness({}, { agentsConfig: FILE() });
    const profiles = h.bot.profiles;
    expect(profiles.configured).toBe(true);
    expect(profiles.approversFor('research')).toEqual(['UAPPROVER']);
    expect(profiles.approversFor('general')).toEqual([]);
    expect(profiles.approversFor(undefined)).toEqual([]);
  });

  it('keeps the root card free of profile words without a profiles file', async () => {
    h = await startHarness();
    await h.sender.command({ text: 'hello', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => cardText(rootOf(h!, 'C1')).includes('Done'));
    await h.bot.settled();
    expect(cardText(rootOf(h, 'C1'))).not.toContain('profile');
    expect(typeof sessionCreates(h)[0]!.agent).toBe('string');
  });
});

describe('a broken profiles file', () => {
  it('stops the start with one line per problem, before anything is created', async () => {
    const slack = await startFakeSlack();
    const agents = await startFakeManagedAgents();
    const dir = mkdtempSync(join(tmpdir(), 'profiles-broken-'));
    try {
      const file = join(dir, 'agents.yml');
      writeFileSync(file, 'profiles:\n  research:\n    agent:\n      model: [opus]\n');
      const parsed = parseEnv({
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 's',
        SLACK_API_URL: slack.apiUrl,
        ANTHROPIC_API_KEY: 'test-key',
        ANTHROPIC_BASE_URL: agents.url,
        STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
        PORT: '0',
        AGENTS_CONFIG: file,
      });
      if (parsed.kind === 'invalid') throw new Error(parsed.message);
      const started = startBot(parsed.env, memoryLogger('debug').log);
      await expect(started).rejects.toThrow(AgentsConfigError);
      await expect(started).rejects.toMatchObject({ lines: [`${file}:4:7: profiles.research.agent.model: expected a string, got a list`] });
      expect(agents.requests).toEqual([]);
    } finally {
      await agents.close();
      await slack.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
