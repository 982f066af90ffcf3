import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot } from '../../src/bot.js';
import { FEEDBACK_ACTION_ID } from '../../src/render/feedback.js';
import { HOME_STOP_ACTION_ID, HOME_STOP_ALL_ACTION_ID } from '../../src/render/home-view.js';
import { openStore } from '../../src/store/open-store.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import { nativeWords } from '../../src/words/native.js';
import { appHomeOpened, assistantThreadStarted, blockAction, dmMessage, feedbackClick, SlackSender } from '../fakes/slack/index.js';
import { botReplies, SIGNING_SECRET, startHarness, type Harness } from '../support/harness.js';
import { memoryLogger } from '../support/log-sink.js';

// Slack's own agent surfaces, through the real Bolt app and WebClient against the fake
// Slack: the native session status and its Stop, the fallback where a workspace refuses
// them, the Messages tab, feedback buttons, and App Home as mission control.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const rootOf = (harness: Harness, channel = 'C1') => harness.slack.messages(channel).find((m) => !m.thread_ts && m.bot_id);

async function startLongJob(harness: Harness, user = 'U1'): Promise<{ rootTs: string; sessionId: string }> {
  await harness.sender.command({ text: 'run the tests', user, channel: 'C1' });
  const root = await harness.slack.waitFor(() => rootOf(harness));
  const session = await harness.agents.waitFor(() => [...harness.agents.sessions.values()][0]);
  return { rootTs: root.ts, sessionId: session.id };
}

/** A Home tab click (block_actions from a view, not a message), as Slack sends it. */
function homeClick(user: string, actionId: string, value: string, triggerId?: string) {
  return {
    type: 'block_actions',
    ...(triggerId ? { trigger_id: triggerId } : {}),
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T1' },
    team: { id: 'T1', domain: 'fake' },
    container: { type: 'view', view_id: 'V1' },
    view: { id: 'V1', type: 'home' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: '1.2' }],
  };
}

describe('native session status', () => {
  it('a session is an agent session: processing with loading messages while a tool runs, active when the turn is done', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.toolUse('bash', { command: 'npm test' }, { until: 'tests-done' });
      await turn.message('All green.');
    };
    const { rootTs } = await startLongJob(h);
    const session = await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs));
    expect(session).toMatchObject({ status: 'processing', title: 'run the tests', initiator: 'U1' });
    await h.slack.waitFor(() => h!.slack.assistantThread('C1', rootTs)?.loadingMessages?.includes('running `npm test`…'));
    expect(h.slack.assistantThread('C1', rootTs)?.status).toBe(nativeWords({ kind: 'status_working' }));
    h.agents.release('tests-done');
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'active');
    await h.bot.settled();
    expect(h.slack.agentSession('C1', rootTs)?.history).toEqual(['processing', 'active']);
    // The card and its buttons are there as before.
    expect(JSON.stringify(rootOf(h)?.blocks)).toContain('Done');
  });

  it('a session that ends is closed in Slack too, and the Home tab shows it ended', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message('Trying.');
      await turn.error('internal_error', 'the container died', 'terminal');
    };
    const { rootTs } = await startLongJob(h);
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'closed');
    await h.bot.settled();
    expect(h.slack.agentSession('C1', rootTs)?.history.at(-1)).toBe('closed');
    expect(h.slack.agentSession('C1', rootTs)?.history.filter((s) => s === 'closed')).toHaveLength(1);
    await h.sender.event(appHomeOpened({ user: 'U1', channel: 'D1', tab: 'home' }));
    const view = await h.slack.waitFor(() => h!.slack.homeViews.get('U1'));
    expect(JSON.stringify(view.blocks)).not.toContain(HOME_STOP_ACTION_ID);
    expect(JSON.stringify(view.blocks)).toMatch(/Ended|Failed/);
  });

  it('writes go through the scheduler coalesced: far fewer status writes than events', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      for (let i = 0; i < 30; i += 1) await turn.toolUse('bash', { command: `step ${i}` });
      await turn.message('done');
    };
    const { rootTs } = await startLongJob(h);
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'active');
    await h.bot.settled();
    const native = h.slack.calls.filter((c) => c.method === 'agents.sessions.setStatus' || c.method === 'assistant.threads.setStatus');
    // 60 tool events and a message: each write carries the latest wanted state, never one per event.
    expect(native.length).toBeLessThan(30);
    expect(h.slack.callsTo('agents.sessions.setStatus').map((c) => c.args.status)).toEqual(['processing', 'active']);
  });

  it('Slack’s Stop interrupts like the Stop button, and the bot moves the status out of processing itself', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message('Starting a long job.');
      await turn.gate('never');
    };
    const { rootTs, sessionId } = await startLongJob(h);
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'processing');
    await h.sender.event(h.slack.agentSessionStopped('C1', rootTs, 'U1'));
    await h.slack.waitFor(() => JSON.stringify(rootOf(h!)?.blocks).includes('Stopped by <@U1>'));
    expect(h.agents.received(sessionId).map((e) => e.type)).toEqual(['user.message', 'user.interrupt']);
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'active');
    await h.logs.waitFor((l) => l.audit === true && l.action === 'stop' && (l.detail as { via?: string })?.via === 'native' && l.outcome === 'ok');
  });

  it('Slack’s Stop from someone not in charge is refused with the same words as the button, and nothing is sent', async () => {
    h = await startHarness({}, { agentsConfig: 'profiles:\n  solo:\n    agent: { model: claude-sonnet-5-5 }\n    steering: owner_only\n' });
    h.agents.onTurn = async (turn) => {
      await turn.message('Starting a long job.');
      await turn.gate('never');
    };
    const { rootTs, sessionId } = await startLongJob(h);
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'processing');
    await h.sender.event(h.slack.agentSessionStopped('C1', rootTs, 'U_BYSTANDER'));
    const refusal = await h.slack.waitFor(() => h!.slack.callsTo('chat.postEphemeral').find((c) => c.args.user === 'U_BYSTANDER'));
    await h.sender.action(blockAction({ user: 'U_BYSTANDER', channel: 'C1', messageTs: rootTs, actionId: 'stop_session', value: '' }));
    await h.slack.waitFor(() => h!.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === 'U_BYSTANDER').length === 2);
    const [viaNative, viaButton] = h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === 'U_BYSTANDER');
    expect(viaNative!.args.text).toBe(viaButton!.args.text);
    expect(String(refusal.args.text)).toContain('<@U1>');
    await h.bot.settled();
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.interrupt')).toHaveLength(0);
    // Slack left it processing; the bot wrote the status again, and it still runs.
    expect(h.slack.agentSession('C1', rootTs)?.history).toEqual(['processing', 'processing']);
  });

  it('falls back to the card and buttons alone when the workspace refuses agent sessions, and remembers it', async () => {
    h = await startHarness();
    h.slack.refuseAgentFeatures('not_allowed');
    h.agents.onTurn = async (turn) => {
      await turn.toolUse('bash', { command: 'npm test' });
      await turn.message(`Answer to ${turn.text}`);
    };
    const { rootTs } = await startLongJob(h);
    await h.slack.waitFor(() => botReplies(h!.slack, 'C1', rootTs).some((m) => m.markdown_text?.includes('Answer to run the tests')));
    await h.bot.settled();
    expect(h.slack.agentSession('C1', rootTs)).toBeUndefined();
    expect(JSON.stringify(rootOf(h)?.blocks)).toContain('Done');
    const tried = h.slack.calls.filter((c) => c.method.startsWith('agents.') || c.method.startsWith('assistant.')).length;
    expect(tried).toBe(1);
    await h.logs.waitFor((l) => l.slackError === 'not_allowed' && String(l.msg).includes('card and its buttons only'));
    // A second session in the same workspace does not try again.
    await h.sender.command({ text: 'second job', user: 'U2', channel: 'C2' });
    await h.slack.waitFor(() => h!.slack.messages('C2').some((m) => m.bot_id && !m.thread_ts));
    const second = h.slack.messages('C2').find((m) => m.bot_id && !m.thread_ts)!;
    await h.slack.waitFor(() => botReplies(h!.slack, 'C2', second.ts).some((m) => m.markdown_text?.includes('Answer to second job')));
    await h.bot.settled();
    expect(h.slack.calls.filter((c) => c.method.startsWith('agents.') || c.method.startsWith('assistant.')).length).toBe(tried);
    expect(JSON.stringify(second.blocks)).toContain('Done');
  });
});

describe('the fallback across restarts', () => {
  it('a session that ended while the bot was down is closed in Slack when the bot is back', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message('Working on it.');
      await turn.gate('down');
      await turn.error('internal_error', 'the container died', 'terminal');
    };
    const { rootTs, sessionId } = await startLongJob(h);
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'processing');
    await h.bot.settled();
    await h.restart(async () => {
      h!.agents.release('down');
      await h!.agents.waitFor(() => h!.agents.sessions.get(sessionId)?.status === 'terminated');
    });
    await h.slack.waitFor(() => h!.slack.agentSession('C1', rootTs)?.status === 'closed');
    expect(h.slack.agentSession('C1', rootTs)?.history).toEqual(['processing', 'closed']);
  });

  it('a workspace that refused the agent surfaces is not asked again after a restart', async () => {
    h = await startHarness();
    h.slack.refuseAgentFeatures('not_allowed');
    h.agents.onTurn = async (turn) => {
      await turn.message(`Answer to ${turn.text}`);
    };
    await startLongJob(h);
    await h.slack.waitFor(() => JSON.stringify(rootOf(h!)?.blocks).includes('Done'));
    await h.bot.settled();
    const native = () => h!.slack.calls.filter((c) => c.method.startsWith('agents.') || c.method.startsWith('assistant.')).length;
    expect(native()).toBe(1);
    await h.restart();
    await h.sender.command({ text: 'second job', user: 'U2', channel: 'C2' });
    const second = await h.slack.waitFor(() => h!.slack.messages('C2').find((m) => m.bot_id && !m.thread_ts));
    await h.slack.waitFor(() => botReplies(h!.slack, 'C2', second.ts).some((m) => m.markdown_text?.includes('Answer to second job')));
    await h.slack.waitFor(() => JSON.stringify(h!.slack.messages('C2').find((m) => m.ts === second.ts)?.blocks).includes('Done'));
    await h.bot.settled();
    expect(native()).toBe(1);
  });
});

describe('the Messages tab', () => {
  const PROFILES = `
default_profile: general
profiles:
  general:
    agent: { model: claude-sonnet-5-5 }
    suggested_prompts:
      - { title: Fix CI, message: Fix the failing CI on main }
  research:
    agent: { model: claude-opus-5-5 }
    suggested_prompts:
      - { title: Research, message: Compare the three queue libraries we use }
`;

  it('opening it offers each profile’s suggested prompts under a short greeting', async () => {
    h = await startHarness({}, { agentsConfig: PROFILES });
    await h.sender.event(appHomeOpened({ user: 'U1', channel: 'D1', tab: 'messages' }));
    await h.bot.settled();
    expect(h.slack.assistantThread('D1')).toEqual({
      promptsTitle: nativeWords({ kind: 'greeting' }),
      prompts: [
        { title: 'Fix CI', message: 'Fix the failing CI on main' },
        { title: 'Research', message: '--profile research Compare the three queue libraries we use' },
      ],
    });
    // assistant_view apps get the same on the thread Slack opened.
    await h.sender.event(assistantThreadStarted({ user: 'U1', channel: 'D1', threadTs: '1764676800.000100' }));
    await h.bot.settled();
    expect(h.slack.assistantThread('D1', '1764676800.000100')?.prompts).toHaveLength(2);
  });

  it('with DMs off (ALLOW_DMS=false) nothing is suggested there: a prompt would start nothing', async () => {
    h = await startHarness({ ALLOW_DMS: 'false' }, { agentsConfig: PROFILES });
    await h.sender.event(appHomeOpened({ user: 'U1', channel: 'D1', tab: 'messages' }));
    await h.sender.event(assistantThreadStarted({ user: 'U1', channel: 'D1', threadTs: '1764676800.000100' }));
    await h.bot.settled();
    expect(h.slack.callsTo('assistant.threads.setSuggestedPrompts')).toEqual([]);
    expect(h.slack.assistantThread('D1')).toBeUndefined();
  });

  it('a message there starts a session in that DM thread, with the card, streaming, steering and stopping', async () => {
    h = await startHarness({}, { agentsConfig: PROFILES });
    h.agents.onTurn = async (turn) => {
      await turn.message(`On it: ${turn.text}`);
      if (turn.text.includes('long')) await turn.gate('never');
    };
    await h.sender.event(appHomeOpened({ user: 'U1', channel: 'D1', tab: 'messages' }));
    const first = dmMessage({ channel: 'D1', user: 'U1', text: '--profile research a long look at the queues' });
    await h.sender.event(first);
    const threadTs = String(first.ts);
    await h.slack.waitFor(() => botReplies(h!.slack, 'D1', threadTs).some((m) => m.markdown_text?.includes('On it: a long look at the queues')));
    const card = botReplies(h.slack, 'D1', threadTs)[0]!;
    expect(JSON.stringify(card.blocks)).toContain('stop_session');
    expect(JSON.stringify(card.blocks)).toContain('research');
    await h.slack.waitFor(() => h!.slack.agentSession('D1', threadTs)?.status === 'processing');
    await h.sender.event(h.slack.agentSessionStopped('D1', threadTs, 'U1'));
    await h.slack.waitFor(() => JSON.stringify(botReplies(h!.slack, 'D1', threadTs)[0]?.blocks).includes('Stopped by <@U1>'));
  });
});

describe('a thread of the Messages tab', () => {
  it('a message in a thread Slack opened starts a session there, with the card, streaming, steering and Stop as in a channel', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message(`On it: ${turn.text}`);
      await turn.gate(turn.text.includes('queue libraries') ? 'first-turn' : 'never');
    };
    const threadTs = '1764676800.000300';
    await h.sender.event(assistantThreadStarted({ user: 'U1', channel: 'D1', threadTs }));
    await h.slack.waitFor(() => (h!.slack.assistantThread('D1', threadTs)?.prompts?.length ?? 0) > 0);
    await h.sender.event(dmMessage({ channel: 'D1', user: 'U1', text: 'compare the queue libraries', thread_ts: threadTs }));
    await h.slack.waitFor(() => botReplies(h!.slack, 'D1', threadTs).some((m) => m.markdown_text?.includes('On it: compare the queue libraries')));
    const session = [...h.agents.sessions.values()][0]!;
    // The card opens the session in that thread, and nothing goes to the DM outside it.
    const card = botReplies(h.slack, 'D1', threadTs)[0]!;
    expect(JSON.stringify(card.blocks)).toContain('stop_session');
    expect(h.slack.messages('D1').filter((m) => m.ts !== threadTs && m.thread_ts !== threadTs)).toEqual([]);
    // The agent's words stream into the thread; Slack's own status runs on it.
    expect(h.slack.callsTo('chat.startStream').map((c) => c.args.thread_ts)).toContain(threadTs);
    await h.slack.waitFor(() => h!.slack.agentSession('D1', threadTs)?.status === 'processing');

    // A reply in the thread while the turn runs reaches the agent, once, and is what it works on next.
    const steer = dmMessage({ channel: 'D1', user: 'U1', text: 'also check the retry policy', thread_ts: threadTs });
    await h.sender.event(steer);
    const steered = () =>
      h!.agents.received(session.id).filter((e) => e.type === 'user.message' && JSON.stringify(e.content).includes('retry policy'));
    await h.agents.waitFor(() => steered().length === 1);
    // 👀 on the reply: it reached the agent.
    await h.slack.waitFor(() =>
      h!.slack
        .messages('D1')
        .find((m) => m.ts === steer.ts)
        ?.reactions?.some((r) => r.name === 'eyes'),
    );
    h.agents.release('first-turn');
    await h.slack.waitFor(() => botReplies(h!.slack, 'D1', threadTs).some((m) => m.markdown_text?.includes('On it: also check the retry policy')));

    // The card's Stop interrupts the turn, as in a channel.
    await h.sender.action(blockAction({ user: 'U1', channel: 'D1', messageTs: card.ts, threadTs, actionId: 'stop_session', value: '' }));
    await h.slack.waitFor(() => JSON.stringify(h!.slack.messages('D1').find((m) => m.ts === card.ts)?.blocks).includes('Stopped by <@U1>'));
    await h.bot.settled();
    expect(h.agents.received(session.id).map((e) => e.type)).toEqual(['user.message', 'user.message', 'user.interrupt']);
    expect(steered()).toHaveLength(1);
    expect(h.agents.sessions.size).toBe(1);
    await h.slack.waitFor(() => h!.slack.agentSession('D1', threadTs)?.status === 'active');
  });
});

describe('feedback buttons', () => {
  it('each finished answer closes with feedback buttons; a click is kept with session, turn and user, thanked privately and audited', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 100, output_tokens: 20 });
      await turn.message(`Answer to ${turn.text}`);
    };
    const { rootTs, sessionId } = await startLongJob(h);
    const usage = await h.slack.waitFor(() => botReplies(h!.slack, 'C1', rootTs).find((m) => String(m.text).startsWith('Turn 1 ')));
    const block = (usage.blocks as Array<{ type: string; elements?: Array<{ type: string }> }>).find((b) => b.type === 'context_actions');
    expect(block?.elements?.[0]?.type).toBe('feedback_buttons');

    await h.sender.action(
      feedbackClick({ user: 'U2', channel: 'C1', messageTs: usage.ts, threadTs: rootTs, actionId: FEEDBACK_ACTION_ID, value: 'good:1' }),
    );
    const thanks = await h.slack.waitFor(() => h!.slack.callsTo('chat.postEphemeral').find((c) => c.args.user === 'U2'));
    expect(thanks.args.text).toBe(nativeWords({ kind: 'feedback_thanks', good: true }));
    const line = await h.logs.waitFor((l) => l.audit === true && l.action === 'feedback');
    expect(line).toMatchObject({ user: 'U2', session: sessionId, thread: rootTs, outcome: 'ok', detail: { turn: 1, good: true } });
    // No dialog for a 👍.
    expect(h.slack.callsTo('views.open')).toHaveLength(0);
    // Counted on /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${h.bot.port}/metrics`)).text();
    expect(metrics).toContain('slack_agents_feedback_total{rating="good"} 1');
  });

  it('an answer whose turn reported no usage closes with the feedback buttons all the same, and a click on them counts', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message(`Answer to ${turn.text}`);
    };
    const { rootTs } = await startLongJob(h);
    await h.slack.waitFor(() => JSON.stringify(rootOf(h!)?.blocks).includes('Done'));
    await h.bot.settled();
    const replies = botReplies(h.slack, 'C1', rootTs);
    expect(replies.some((m) => String(m.text).startsWith('Turn 1 '))).toBe(false);
    // The last message of the finished turn carries the buttons, after the answer.
    const last = replies.at(-1)!;
    expect(replies.at(-2)?.markdown_text).toBe('Answer to run the tests');
    const block = (last.blocks as Array<{ type: string; elements?: Array<{ type: string }> }>).find((b) => b.type === 'context_actions');
    expect(block?.elements?.[0]?.type).toBe('feedback_buttons');
    await h.sender.action(
      feedbackClick({ user: 'U1', channel: 'C1', messageTs: last.ts, threadTs: rootTs, actionId: FEEDBACK_ACTION_ID, value: 'good:1' }),
    );
    await h.logs.waitFor((l) => l.audit === true && l.action === 'feedback' && (l.detail as { turn?: number })?.turn === 1);
  });

  it('a 👎 opens “what went wrong?”, and the text written there is kept with the click', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 100, output_tokens: 20 });
      await turn.message(`Answer to ${turn.text}`);
    };
    const { rootTs } = await startLongJob(h);
    const usage = await h.slack.waitFor(() => botReplies(h!.slack, 'C1', rootTs).find((m) => String(m.text).startsWith('Turn 1 ')));
    await h.sender.action(
      feedbackClick({ user: 'U1', channel: 'C1', messageTs: usage.ts, threadTs: rootTs, actionId: FEEDBACK_ACTION_ID, value: 'bad:1' }),
    );
    const view = await h.slack.waitFor(() => [...h!.slack.views.values()][0]);
    expect(view.callback_id).toBe('feedback_note');
    await h.sender.submitView(view.id, { note: { note_input: 'It ran the wrong test suite.' } });
    await h.slack.waitFor(() => h!.slack.callsTo('chat.postEphemeral').some((c) => c.args.text === nativeWords({ kind: 'feedback_noted' })));
    await h.bot.settled();
    const lines = h.logs.lines().filter((l) => l.audit === true && l.action === 'feedback');
    expect(lines.map((l) => l.detail)).toEqual([
      { turn: 1, good: false },
      { turn: 1, good: false, note: true },
    ]);
    // The note is in the thread record, with the click it belongs to.
    await h.bot.close();
    const kv = await openStore(h.env.STORE_URL);
    const record = await new ThreadRecords(kv).get({ team: 'T1', channel: 'C1', threadTs: rootTs });
    await kv.disconnect();
    expect(record?.feedback).toEqual({ '1:U1': { user: 'U1', turn: 1, good: false, at: expect.any(Number), note: 'It ran the wrong test suite.' } });
  });
});

describe('App Home: mission control', () => {
  it('the owner sees their session with Stop while it runs; a bystander sees none; Stop there interrupts it', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 1200, output_tokens: 300 });
      await turn.message('Working on it.');
      await turn.gate('never');
    };
    const { rootTs, sessionId } = await startLongJob(h);
    await h.slack.waitFor(() => h!.slack.thread('C1', rootTs).some((m) => m.markdown_text === 'Working on it.'));
    await h.sender.event(appHomeOpened({ user: 'U1', channel: 'D1', tab: 'home' }));
    const mine = await h.slack.waitFor(() => h!.slack.homeViews.get('U1'));
    const text = JSON.stringify(mine.blocks);
    expect(text).toContain('run the tests');
    expect(text).toContain('<#C1>');
    expect(text).toContain('1.5k tokens');
    expect(text).toContain(`archives/C1/p${rootTs.replace('.', '')}`);
    expect(text).toContain(HOME_STOP_ACTION_ID);

    h.slack.users.set('U_BYSTANDER', { id: 'U_BYSTANDER', name: 'b', real_name: 'B' });
    await h.sender.event(appHomeOpened({ user: 'U_BYSTANDER', channel: 'D2', tab: 'home' }));
    const theirs = await h.slack.waitFor(() => h!.slack.homeViews.get('U_BYSTANDER'));
    expect(JSON.stringify(theirs.blocks)).not.toContain('run the tests');

    const stop = (mine.blocks as Array<{ accessory?: { action_id?: string; value?: string } }>).find(
      (b) => b.accessory?.action_id === HOME_STOP_ACTION_ID,
    )!;
    await h.sender.action(homeClick('U1', HOME_STOP_ACTION_ID, stop.accessory!.value!));
    await h.slack.waitFor(() => JSON.stringify(rootOf(h!)?.blocks).includes('Stopped by <@U1>'));
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.interrupt')).toHaveLength(1);
    // The owner's tab says so, and no longer offers Stop once the session stopped.
    await h.slack.waitFor(() => {
      const now = JSON.stringify(h!.slack.homeViews.get('U1')?.blocks);
      return now.includes('Stop sent') || !now.includes(HOME_STOP_ACTION_ID);
    });
    await h.slack.waitFor(() => !JSON.stringify(h!.slack.homeViews.get('U1')?.blocks).includes(HOME_STOP_ACTION_ID));
  });

  it('an admin sees every running session, the day’s totals and Stop all; the tab refreshes on state changes, coalesced', async () => {
    h = await startHarness({ ADMIN_USERS: 'UADMIN1' });
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 100, output_tokens: 10 });
      await turn.message('Working on it.');
      await turn.gate('never');
    };
    h.slack.users.set('UADMIN1', { id: 'UADMIN1', name: 'admin', real_name: 'Admin' });
    await h.sender.event(appHomeOpened({ user: 'UADMIN1', channel: 'D9', tab: 'home' }));
    await h.slack.waitFor(() => h!.slack.homeViews.get('UADMIN1'));
    for (const [user, channel] of [
      ['U1', 'C1'],
      ['U2', 'C2'],
      ['U3', 'C3'],
    ] as const) {
      await h.sender.command({ text: `job of ${user}`, user, channel });
    }
    await h.slack.waitFor(() => {
      const text = JSON.stringify(h!.slack.homeViews.get('UADMIN1')?.blocks);
      return text.includes('Every running session (3)') && text.includes('job of U3');
    });
    const view = h.slack.homeViews.get('UADMIN1')!;
    const text = JSON.stringify(view.blocks);
    for (const u of ['U1', 'U2', 'U3']) expect(text).toContain(`<@${u}>`);
    expect(text).toContain(HOME_STOP_ALL_ACTION_ID);
    expect(text).toContain('*Sessions*\\n3');
    // Three sessions each went through several states (starting, running…): one publish per
    // pass, not one per change.
    const states = 3 * 2;
    expect(view.publishes).toBeLessThanOrEqual(1 + states);

    await h.sender.action(homeClick('UADMIN1', HOME_STOP_ALL_ACTION_ID, ''));
    await h.slack.waitFor(() => JSON.stringify(h!.slack.homeViews.get('UADMIN1')?.blocks).includes('Stopped 3'));
    await h.slack.waitFor(() => JSON.stringify(h!.slack.homeViews.get('UADMIN1')?.blocks).includes('Every running session (0)'));
  });

  it('after a restart the Home tab shows what the bot before it did: sessions, tokens and cost, and the day’s totals', async () => {
    h = await startHarness({ ADMIN_USERS: 'UADMIN1' });
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 1200, output_tokens: 300 });
      await turn.message(`Answer to ${turn.text}`);
    };
    const { rootTs } = await startLongJob(h, 'UADMIN1');
    await h.slack.waitFor(() => JSON.stringify(rootOf(h!)?.blocks).includes('Done'));
    await h.bot.settled();
    // The new process never folded this session (it finished before the restart and is not resumed).
    await h.restart();
    await h.sender.event(appHomeOpened({ user: 'UADMIN1', channel: 'D9', tab: 'home' }));
    const view = await h.slack.waitFor(() => h!.slack.homeViews.get('UADMIN1'));
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('run the tests');
    expect(text).toContain(`archives/C1/p${rootTs.replace('.', '')}`);
    expect(text).toContain('1.5k tokens');
    expect(text).toContain('*Sessions*\\n1');
    expect(text).toContain('1.2k in · 300 out');
  });

  it('with two replicas on one Redis, the tab opened at one is the same at the other and refreshed by the one that runs the session', async () => {
    const storeNamespace = `test-${randomUUID()}`;
    h = await startHarness({ STORE_URL: 'redis://127.0.0.1:6379', LEASE_MS: '1500' }, { storeNamespace });
    const b = await startBot(h.env, memoryLogger('debug').log, { statusIntervalMs: 0, slackBackoffMs: 10, closeGraceMs: 2000, storeNamespace });
    try {
      const senderB = new SlackSender({ url: `http://127.0.0.1:${b.port}/slack/events`, signingSecret: SIGNING_SECRET, fake: h.slack });
      h.agents.onTurn = async (turn) => {
        await turn.usage({ input_tokens: 1200, output_tokens: 300 });
        await turn.message('Working on it.');
        await turn.gate('finish');
      };
      // Started through the harness's replica, which follows the session.
      const { rootTs } = await startLongJob(h);
      await h.slack.waitFor(() => h!.slack.thread('C1', rootTs).some((m) => m.markdown_text === 'Working on it.'));
      await h.bot.settled();
      // The tab opens at the other replica: it shows the session from the store.
      await senderB.event(appHomeOpened({ user: 'U1', channel: 'D1', tab: 'home' }));
      const opened = await h.slack.waitFor(() => h!.slack.homeViews.get('U1'));
      expect(b.bridge.liveRunners).toBe(0);
      expect(JSON.stringify(opened.blocks)).toContain('1.5k tokens');
      expect(JSON.stringify(opened.blocks)).toContain(HOME_STOP_ACTION_ID);
      // The turn ends at the replica that runs it, which refreshes the tab opened at the other.
      h.agents.release('finish');
      await h.slack.waitFor(() => {
        const now = JSON.stringify(h!.slack.homeViews.get('U1')?.blocks);
        return now.includes('Done') && !now.includes(HOME_STOP_ACTION_ID);
      });
      expect(h.slack.homeViews.get('U1')!.publishes).toBeGreaterThan(opened.publishes);
    } finally {
      await b.close();
    }
  });

  it('a Home Stop or Stop all delivered twice acts once; Stop all stops the admin’s workspace only', async () => {
    h = await startHarness({ ADMIN_USERS: 'UADMIN1' });
    const harness = h;
    h.agents.onTurn = async (turn) => {
      await turn.message('Working on it.');
      await turn.gate('never');
    };
    h.slack.users.set('UADMIN1', { id: 'UADMIN1', name: 'admin', real_name: 'Admin' });
    const { rootTs } = await startLongJob(h);
    // Another workspace's running session in the same store (one bot installed in two).
    const kv = await openStore(h.env.STORE_URL);
    const mine = (await new ThreadRecords(kv).get({ team: 'T1', channel: 'C1', threadTs: rootTs }))!;
    await new ThreadRecords(kv).create({ ...mine, team: 'T2', channel: 'C9', threadTs: '9.000001', owner: 'U9', status: 'active' });
    const audit = () => harness.logs.lines().filter((l) => l.audit === true);
    // The same interaction twice, as Slack redelivers it: one trigger_id.
    const twice = async (payload: Record<string, unknown>) => {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      for (let i = 0; i < 2; i += 1) expect((await harness.sender.raw(body, { contentType: 'application/x-www-form-urlencoded' })).status).toBe(200);
    };

    const stop = homeClick('U1', HOME_STOP_ACTION_ID, JSON.stringify({ channel: 'C1', threadTs: rootTs }), 'trigger-stop');
    await twice(stop);
    await h.bot.settled();
    expect(audit().filter((l) => l.action === 'stop' && l.thread === rootTs)).toHaveLength(1);

    const all = homeClick('UADMIN1', HOME_STOP_ALL_ACTION_ID, '', 'trigger-all');
    await twice(all);
    await h.bot.settled();
    expect(audit().filter((l) => l.action === 'stop_all')).toHaveLength(1);
    expect(audit().filter((l) => l.team === 'T2')).toEqual([]);
  });

  it('Stop all from someone who is not an admin is refused and stops nothing', async () => {
    h = await startHarness({ ADMIN_USERS: 'UADMIN1' });
    h.agents.onTurn = async (turn) => {
      await turn.message('Working on it.');
      await turn.gate('never');
    };
    const { sessionId } = await startLongJob(h);
    await h.sender.action(homeClick('U1', HOME_STOP_ALL_ACTION_ID, ''));
    const view = await h.slack.waitFor(() => h!.slack.homeViews.get('U1'));
    expect(JSON.stringify(view.blocks)).not.toContain(HOME_STOP_ALL_ACTION_ID);
    await h.bot.settled();
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.interrupt')).toHaveLength(0);
  });
});
