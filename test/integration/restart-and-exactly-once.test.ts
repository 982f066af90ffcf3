import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { humanReply } from '../fakes/slack/index.js';
import { agentText, botReplies, occurrences, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');
const texts = (rootTs: string) => botReplies(h.slack, 'C1', rootTs).map((m) => m.markdown_text ?? m.text);

async function restartMidTurnScenario(): Promise<void> {
  h.agents.onTurn = async (turn) => {
    if (!turn.text.includes('long')) return void (await turn.message(`Next turn: ${turn.text}`));
    await turn.message('Part one.');
    await turn.gate('while-bot-is-down');
    await turn.toolUse('bash', { command: 'make' }, { text: 'built' });
    await turn.message('Part two.');
    await turn.gate('after-restart');
    await turn.message('Part three.');
  };
  await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
  const root = await h.slack.waitFor(() => rootOf());
  await h.slack.waitFor(() => texts(root.ts).includes('Part one.'));
  await h.bot.settled();

  // The bot goes away mid-turn; the agent keeps working in the cloud meanwhile.
  const session = [...h.agents.sessions.values()][0]!;
  await h.restart(async () => {
    h.agents.release('while-bot-is-down');
    await h.agents.waitFor(() => h.agents.events(session.id).some((e) => e.type === 'agent.message' && JSON.stringify(e).includes('Part two.')));
  });

  await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Part two.'));
  h.agents.release('after-restart');
  await h.slack.waitFor(() => rootText().includes('Done'));
  await h.bot.settled();
  // The fake reports no usage: the finished answer closes with the feedback buttons alone, once.
  expect(texts(root.ts)).toEqual(['Part one.', expect.stringContaining('bash'), 'Part two.\n\nPart three.', 'How was this answer?']);
  expect(JSON.stringify(botReplies(h.slack, 'C1', root.ts)[1]!.blocks)).toContain(':white_check_mark: *bash*');

  // An old thread still reaches its session after the restart.
  await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'and then?' }));
  await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Next turn: and then?'));
  expect(h.agents.sessions.size).toBe(1);
  expect(occurrences(agentText(h.slack, 'C1', root.ts), 'Part one.')).toBe(1);
}

describe('restarts', () => {
  it('reopens and catches up a mid-turn session: nothing posted twice, nothing missed (SQLite store)', async () => {
    h = await startHarness();
    await restartMidTurnScenario();
  });

  it('does the same with the Redis store', async () => {
    h = await startHarness({ STORE_URL: 'redis://127.0.0.1:6379' }, { storeNamespace: `test-${randomUUID()}` });
    await restartMidTurnScenario();
  });

  it('creates the default agent and environment once and reuses them after a restart', async () => {
    h = await startHarness();
    expect(h.agents.agents.size).toBe(1);
    expect(h.agents.environments.size).toBe(1);
    await h.restart();
    expect(h.agents.agents.size).toBe(1);
    expect(h.agents.environments.size).toBe(1);
    await h.sender.command({ text: 'hi', user: 'U1', channel: 'C1' });
    const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
    expect(session.agent.id).toBe([...h.agents.agents.keys()][0]);
    expect(session.environment_id).toBe([...h.agents.environments.keys()][0]);
  });
});

describe('dropped connections and failed writes', () => {
  it('catches up after the event stream drops mid-turn without duplicating or skipping', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message('Before the drop.');
      await turn.gate('drop');
      await turn.message('During the gap.');
      await turn.message('After the gap.');
    };
    await h.sender.command({ text: 'go', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Before the drop.'));
    const session = [...h.agents.sessions.values()][0]!;
    h.agents.dropStreams(session.id, 'destroy');
    h.agents.release('drop');
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Before the drop.\n\nDuring the gap.\n\nAfter the gap.');
  });

  it('a post that landed but answered 500 is found by its key, not posted again', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message(`Exactly once: ${turn.text}`);
    };
    await h.sender.command({ text: 'warm up', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    const root = rootOf()!;
    const postsBefore = h.slack.callsTo('chat.postMessage').length;

    h.slack.failNext('chat.postMessage', { status: 500, afterApply: true });
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'again' }));
    await h.slack.waitFor(() => h.slack.callsTo('conversations.replies').length > 0);
    await h.slack.waitFor(() => rootText().includes('Done') && texts(root.ts).includes('Exactly once: again'));
    await h.bot.settled();
    // One attempt that landed (and answered 500), then a look-up instead of a second post;
    // then the answer's feedback buttons (the fake reports no usage line to carry them).
    expect(h.slack.callsTo('chat.postMessage').length).toBe(postsBefore + 2);
    expect(texts(root.ts).filter((t) => t === 'Exactly once: again')).toHaveLength(1);
    expect(texts(root.ts).filter((t) => t === 'How was this answer?')).toHaveLength(2);
  });
});

describe('sending to the agent', () => {
  it('a user.message that landed but answered 500 is found in the history, not sent twice', async () => {
    h = await startHarness();
    await h.sender.command({ text: 'first', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    const root = rootOf()!;
    const session = [...h.agents.sessions.values()][0]!;
    h.agents.failNext({ method: 'POST', path: `/v1/sessions/${session.id}/events` }, { status: 500, afterApply: true });
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'only once' }));
    await h.slack.waitFor(() => texts(root.ts).includes('You said: only once') && rootText().includes('Done'));
    await h.bot.settled();
    const sends = h.agents.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events'));
    expect(sends).toHaveLength(2);
    expect(h.agents.received(session.id).filter((e) => JSON.stringify(e.content).includes('only once'))).toHaveLength(1);
    expect(texts(root.ts).filter((t) => t === 'You said: only once')).toHaveLength(1);
  });
});
