import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { botReplies, startHarness, type Harness } from '../support/harness.js';
import { appMention, dmMessage, humanReply, messageChanged, botEcho, topLevelMessage } from '../fakes/slack/index.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h?.close();
});

const rootOf = (channel: string) => h.slack.messages(channel).find((m) => !m.thread_ts && m.bot_id);
const statusText = (m: { blocks?: unknown } | undefined) => JSON.stringify(m?.blocks ?? '');

describe('/agent', () => {
  it('acks at once, posts a root card, creates the session, opens the stream before sending, and renders the turn', async () => {
    h.agents.onTurn = async (turn) => {
      await turn.message('Looking at the build.');
      await turn.toolUse('bash', { command: 'npm test' }, { text: 'ok' });
      await turn.message('**All green.**');
    };
    const res = await h.sender.command({ text: 'fix the build', user: 'U1', channel: 'C1' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');

    const root = await h.slack.waitFor(() => rootOf('C1'));
    expect(root.thread_ts).toBeUndefined();
    expect(statusText(root)).toContain('<@U1> asked the agent');
    expect(statusText(root)).toContain('fix the build');

    const done = await h.slack.waitFor(() => statusText(rootOf('C1')).includes('Done') && rootOf('C1'));
    expect(statusText(done)).not.toContain('stop_session');
    await h.bot.settled();

    const session = [...h.agents.sessions.values()][0]!;
    expect(session.environment_id).toMatch(/^env_/);
    // The stream was open before the prompt went out, so no early event could be missed.
    const streamAt = h.agents.requests.findIndex((r) => r.method === 'GET' && r.path.endsWith('/events/stream'));
    const sendAt = h.agents.requests.findIndex((r) => r.method === 'POST' && r.path.endsWith('/events'));
    expect(streamAt).toBeGreaterThanOrEqual(0);
    expect(streamAt).toBeLessThan(sendAt);
    expect(h.agents.received(session.id).map((e) => e.type)).toEqual(['user.message']);

    const replies = botReplies(h.slack, 'C1', root.ts);
    // The fake reports no usage for this turn: the answer closes with the feedback buttons alone.
    expect(replies.map((m) => m.markdown_text ?? m.text)).toEqual([
      'Looking at the build.',
      expect.stringContaining('bash'),
      '**All green.**',
      'How was this answer?',
    ]);
    expect(JSON.stringify(replies[3]!.blocks)).toContain('feedback_buttons');
    expect(JSON.stringify(replies[1]!.blocks)).toContain(':white_check_mark: *bash* `npm test`');
    // Text goes out as Markdown, not mrkdwn.
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.markdown_text).length).toBe(2);
  });

  it('answers an empty /agent with usage help and starts nothing', async () => {
    const res = await h.sender.command({ text: '   ', user: 'U1', channel: 'C1' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('Usage') });
    expect(h.agents.sessions.size).toBe(0);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('joins a public channel it was not in, and tells the user when it cannot post at all', async () => {
    h.slack.setMember('C2', false);
    await h.sender.command({ text: 'hello', user: 'U1', channel: 'C2' });
    await h.slack.waitFor(() => rootOf('C2'));
    expect(h.slack.callsTo('conversations.join')).toHaveLength(1);

    h.slack.setMember('G9', false);
    await h.sender.command({ text: 'hello', user: 'U1', channel: 'G9' });
    const answer = await h.slack.waitFor(() => h.slack.responseUrlPosts[0]);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/invite') });
    await h.bot.settled();
    expect([...h.agents.sessions.values()].map((s) => s.metadata.slack_channel)).toEqual(['C2']);
  });
});

describe('mentions and DMs', () => {
  it('starts a session threaded under a top-level mention, once even though it arrives twice', async () => {
    const mention = appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> summarise the doc' });
    const asMessage = topLevelMessage({ channel: 'C1', user: 'U1', text: String(mention.text), ts: String(mention.ts) });
    await Promise.all([h.sender.event(mention), h.sender.event(asMessage)]);
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', String(mention.ts)).some((m) => m.markdown_text?.includes('You said')));
    await h.bot.settled();
    expect(h.agents.sessions.size).toBe(1);
    const session = [...h.agents.sessions.values()][0]!;
    const sent = h.agents.received(session.id);
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0])).toContain('summarise the doc');
    expect(JSON.stringify(sent[0])).not.toContain('U_BOT');
    const asked = h.slack.messages('C1').find((m) => m.ts === mention.ts);
    expect(asked?.reactions.map((r) => r.name)).toContain('eyes');
  });

  it('starts a session from a mention inside an existing thread and from a DM', async () => {
    const parent = h.slack.addHumanMessage('C1', { user: 'U2', text: 'the deploy failed' });
    await h.sender.event(appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> why?', thread_ts: parent.ts }));
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', parent.ts).some((m) => m.markdown_text?.includes('why?')));

    const dm = dmMessage({ channel: 'D1', user: 'U1', text: 'hello there' });
    await h.sender.event(dm);
    await h.slack.waitFor(() => botReplies(h.slack, 'D1', String(dm.ts)).some((m) => m.markdown_text?.includes('hello there')));
    expect(h.agents.sessions.size).toBe(2);
  });
});

describe('thread replies', () => {
  async function startSession(): Promise<{ rootTs: string; sessionId: string }> {
    await h.sender.command({ text: 'first task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf('C1'));
    const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
    return { rootTs: root.ts, sessionId: session.id };
  }

  it('steers mid-run, continues after idle with the same session, and puts a receipt on each reply', async () => {
    h.agents.onTurn = async (turn) => {
      if (turn.text.includes('first')) await turn.gate('first-turn');
      await turn.message(`Handled: ${turn.text}`);
    };
    const { rootTs, sessionId } = await startSession();
    await h.agents.waitFor(() => h.agents.events(sessionId).some((e) => e.type === 'session.status_running'));

    const steer = humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U2', text: 'also check lint' });
    await h.sender.event(steer);
    await h.agents.waitFor(() => h.agents.received(sessionId).length === 2);
    await h.slack.waitFor(() =>
      h.slack
        .messages('C1')
        .find((m) => m.ts === steer.ts)
        ?.reactions.some((r) => r.name === 'eyes'),
    );
    h.agents.release('first-turn');

    await h.slack.waitFor(() => botReplies(h.slack, 'C1', rootTs).some((m) => m.markdown_text?.includes('also check lint')));
    await h.slack.waitFor(() => statusText(rootOf('C1')).includes('Done'));

    const next = humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: 'now write docs' });
    await h.sender.event(next);
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', rootTs).some((m) => m.markdown_text?.includes('now write docs')));
    expect(h.agents.sessions.size).toBe(1);
    // A finished thread holds no runner or stream: the next reply rebuilt it from history.
    await h.slack.waitFor(() => statusText(rootOf('C1')).includes('Done'));
    await h.bot.settled();
    expect(h.bot.bridge.liveRunners).toBe(0);
    await h.agents.waitFor(() => h.agents.openStreams() === 0);
    expect(h.agents.received(sessionId).map((e) => JSON.stringify(e.content))).toEqual([
      expect.stringContaining('first task'),
      expect.stringContaining('also check lint'),
      expect.stringContaining('now write docs'),
    ]);
  });

  it('ignores its own posts, other bots, edits and deletions, and handles a redelivered event once', async () => {
    const { rootTs, sessionId } = await startSession();
    await h.slack.waitFor(() => statusText(rootOf('C1')).includes('Done'));
    await h.sender.event(botEcho({ channel: 'C1', text: 'echo', ts: rootTs, thread_ts: rootTs }));
    await h.sender.event({ ...humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U9', text: 'other bot' }), bot_id: 'B_OTHER' });
    await h.sender.event(messageChanged({ channel: 'C1', ts: rootTs, text: 'edited', thread_ts: rootTs }));
    const reply = humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: 'once please' });
    const first = await h.sender.event(reply);
    await h.sender.event(reply, { eventId: first.eventId!, retryNum: 1, retryReason: 'http_timeout' });
    await h.bot.settled();
    await h.slack.waitFor(
      () => statusText(rootOf('C1')).includes('Done') && botReplies(h.slack, 'C1', rootTs).some((m) => m.markdown_text?.includes('once please')),
    );
    await h.bot.settled();
    const texts = h.agents.received(sessionId).map((e) => JSON.stringify(e.content));
    expect(texts).toHaveLength(2);
    expect(texts[1]).toContain('once please');
  });
});
