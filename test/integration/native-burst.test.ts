import { afterEach, describe, expect, it } from 'vitest';
import { SLACK_BUDGETS } from '../../src/delivery/rate-budget.js';
import { appHomeOpened } from '../fakes/slack/index.js';
import { startHarness, type Harness } from '../support/harness.js';

// Slack's agent surfaces under load, against the fake Slack enforcing its rate limits
// (test/fakes/slack/rate-limit.ts): many sessions starting at once, each in its own channel,
// and several people opening the Home tab meanwhile. The bot's budgets
// (src/delivery/rate-budget.ts) keep every native write inside Slack's tiers.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const THREADS = 6;
// Two session-status writes a thread, at the bot's Tier 3 pace once its burst is spent: how
// long the last may wait, besides the fake's usual patience (a timeout, not an assertion).
const status = SLACK_BUDGETS['agents.sessions.setStatus']!;
const patience = 10_000 + Math.max(0, 2 * THREADS - status.burst) * Math.ceil(60_000 / status.perMinute);
const VIEWERS = 4;

describe('native surfaces in a burst', () => {
  it('many sessions at once and several Home viewers: every status, loading message and Home view delivered, no 429', async () => {
    h = await startHarness({}, { slack: { enforceRateLimits: true } });
    const harness = h;
    const users = Array.from({ length: VIEWERS }, (_, i) => `U${i + 1}`);
    for (const id of users) harness.slack.users.set(id, { id, name: id.toLowerCase(), real_name: id });
    harness.agents.onTurn = async (turn) => {
      await turn.toolUse('bash', { command: 'npm test' });
      await turn.message('All green.');
    };
    const channels = Array.from({ length: THREADS }, (_, i) => `CB${i}`);
    await Promise.all(channels.map((channel, i) => harness.sender.command({ text: `job ${i}`, user: users[i % VIEWERS]!, channel })));
    await Promise.all(users.map((user, i) => harness.sender.event(appHomeOpened({ user, channel: `DB${i}`, tab: 'home' }))));
    const roots = await harness.slack.waitFor(() => {
      const found = channels.map((c) => harness.slack.messages(c).find((m) => !m.thread_ts && m.bot_id));
      return found.every((m) => m !== undefined) ? found.map((m) => m!.ts) : undefined;
    });
    // Every session went through processing (with its loading messages) and ends active.
    await harness.slack.waitFor(() => channels.every((c, i) => harness.slack.agentSession(c, roots[i]!)?.status === 'active'), patience);
    await harness.bot.settled();
    for (const [i, c] of channels.entries()) {
      expect(harness.slack.agentSession(c, roots[i]!)?.history).toEqual(['processing', 'active']);
      expect(harness.slack.callsTo('assistant.threads.setStatus').some((call) => call.args.channel_id === c)).toBe(true);
    }
    // Each viewer's tab shows their own sessions, refreshed after they ended.
    await harness.slack.waitFor(
      () =>
        users.every((user, u) => {
          const text = JSON.stringify(harness.slack.homeViews.get(user)?.blocks ?? []);
          return channels.every((_, i) => i % VIEWERS !== u || text.includes(`job ${i}`));
        }),
      patience,
    );
    expect(harness.slack.rateLimited).toEqual([]);
  });
});
