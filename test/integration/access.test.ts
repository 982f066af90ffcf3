import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import { appMention, blockAction, dmMessage, humanReply, reactionAdded } from '../fakes/slack/index.js';
import { botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const roots = (channel = 'C1') => h.slack.messages(channel).filter((m) => !m.thread_ts && m.bot_id);
const rootText = (ts: string, channel = 'C1') => JSON.stringify(h.slack.messages(channel).find((m) => m.ts === ts)?.blocks ?? '');
const ephemeralsTo = (user: string) =>
  h.slack
    .callsTo('chat.postEphemeral')
    .filter((c) => c.args.user === user)
    .map((c) => String(c.args.text));
/** What /agent answered privately through its response_url (a command's refusal). */
const commandAnswers = () => h.slack.responseUrlPosts.map((p) => String(p.body?.text ?? ''));
const sessions = () => [...h.agents.sessions.values()];
const auditLines = () => h.logs.lines().filter((l) => l.audit === true);
const eyesOn = (channel: string, ts: string) =>
  h.slack.callsTo('reactions.add').some((c) => c.args.channel === channel && c.args.timestamp === ts && c.args.name === 'eyes');

/** The agent says one thing and then waits (the session stays running). */
function agentThatKeepsRunning(): void {
  h.agents.onTurn = async (turn) => {
    await turn.message(`Working on: ${turn.text}`);
    await turn.gate('never');
  };
}

/** /agent by `user` in `channel`; resolves with the root and its session once the agent has spoken. */
async function startRunning(user = 'U1', channel = 'C1', text = 'long job'): Promise<{ rootTs: string; sessionId: string }> {
  const before = new Set(sessions().map((s) => s.id));
  await h.sender.command({ text, user, channel });
  const session = await h.agents.waitFor(() => sessions().find((s) => !before.has(s.id)));
  const root = await h.slack.waitFor(() =>
    roots(channel).find((m) => h.slack.thread(channel, m.ts).some((r) => r.markdown_text === `Working on: ${text}`)),
  );
  await h.slack.waitFor(() => rootText(root.ts, channel).includes('stop_session'));
  return { rootTs: root.ts, sessionId: session.id };
}

/** A human reply in the thread, as Slack records and delivers it. */
async function reply(channel: string, rootTs: string, user: string, text: string): Promise<string> {
  const e = humanReply({ channel, thread_ts: rootTs, user, text });
  await h.sender.event(e);
  return String(e.ts);
}

const userMessages = (sessionId: string) => h.agents.received(sessionId).filter((e) => e.type === 'user.message');
const interrupts = (sessionId: string) => h.agents.received(sessionId).filter((e) => e.type === 'user.interrupt');

describe('who may start a session', () => {
  it('a listed user starts one; an unlisted user is told why and nothing is created', async () => {
    h = await startHarness({ ALLOWED_USERS: 'U1' });
    agentThatKeepsRunning();
    await startRunning('U1');
    await h.sender.command({ text: 'let me in', user: 'U2', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length > 0);
    await h.bot.settled();
    expect(commandAnswers()).toEqual([expect.stringContaining('You are not on this bot’s list of users')]);
    expect(sessions()).toHaveLength(1);
    expect(roots()).toHaveLength(1);
    // A listed user is never looked up: the list decides.
    expect(h.slack.callsTo('users.info')).toHaveLength(0);
  });

  it('a guest is refused (asked with users.info once, then remembered); with ALLOW_GUESTS=true a guest may start', async () => {
    h = await startHarness();
    agentThatKeepsRunning();
    h.slack.users.set('UGUEST', { id: 'UGUEST', name: 'guest', real_name: 'Guest', is_restricted: true });
    h.slack.users.set('USINGLE', { id: 'USINGLE', name: 'single', real_name: 'Single', is_restricted: true, is_ultra_restricted: true });
    await h.sender.command({ text: 'hello', user: 'UGUEST', channel: 'C1' });
    await h.sender.command({ text: 'hello again', user: 'UGUEST', channel: 'C1' });
    await h.sender.command({ text: 'hi', user: 'USINGLE', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 3);
    await h.bot.settled();
    expect(commandAnswers()).toEqual(Array(3).fill(expect.stringContaining('Guest accounts cannot use this bot')));
    expect(sessions()).toHaveLength(0);
    expect(h.slack.callsTo('users.info').map((c) => c.args.user)).toEqual(['UGUEST', 'USINGLE']);
    // A member is let in after the same look-up.
    await startRunning('U1');
    await h.close();

    h = await startHarness({ ALLOW_GUESTS: 'true' });
    agentThatKeepsRunning();
    h.slack.users.set('UGUEST', { id: 'UGUEST', name: 'guest', real_name: 'Guest', is_restricted: true });
    await startRunning('UGUEST');
    expect(h.slack.callsTo('users.info')).toHaveLength(0);
  });

  it('when users.info fails nobody is let in on a guess, and the failure is not remembered', async () => {
    h = await startHarness();
    agentThatKeepsRunning();
    h.slack.failNext('users.info', { error: 'fatal_error' });
    await h.sender.command({ text: 'first try', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 1);
    expect(commandAnswers()).toEqual(['I could not check your Slack account just now, so I did nothing. Please try again in a moment.']);
    expect(sessions()).toHaveLength(0);
    await startRunning('U1', 'C1', 'second try');
    expect(h.slack.callsTo('users.info')).toHaveLength(2);
    // An install without users:read: the log says what to do.
    h.slack.failNext('users.info', { error: 'missing_scope' });
    await h.sender.command({ text: 'third', user: 'U7', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 2);
    expect(h.logs.lines().filter((l) => l.level === 'error' && String(l.msg).includes('users:read scope'))).toHaveLength(1);
  });

  it('sessions start only in ALLOWED_CHANNELS; DMs count as allowed unless ALLOW_DMS=false', async () => {
    h = await startHarness({ ALLOWED_CHANNELS: 'C1' });
    agentThatKeepsRunning();
    await h.sender.command({ text: 'in random', user: 'U1', channel: 'C2' });
    await h.slack.waitFor(() => commandAnswers().length > 0);
    expect(commandAnswers()).toEqual(['Sessions cannot be started in <#C2>; ask an admin which channels the bot works in.']);
    expect(roots('C2')).toHaveLength(0);
    await startRunning('U1', 'C1');
    // A DM is allowed by default, even with a channel list.
    await h.sender.event(dmMessage({ channel: 'D1', user: 'U1', text: 'in a DM' }));
    await h.agents.waitFor(() => sessions().length === 2);
    await h.close();

    h = await startHarness({ ALLOW_DMS: 'false' });
    agentThatKeepsRunning();
    await h.sender.event(dmMessage({ channel: 'D1', user: 'U1', text: 'in a DM' }));
    await h.slack.waitFor(() => ephemeralsTo('U1').length > 0);
    await h.bot.settled();
    expect(ephemeralsTo('U1')).toEqual([expect.stringContaining('cannot be started in direct messages')]);
    expect(sessions()).toHaveLength(0);
  });

  it('a per-user limit on running sessions, and a maximum prompt size, each refused with the number', async () => {
    h = await startHarness({ MAX_RUNNING_PER_USER: '1', MAX_PROMPT_CHARS: '40' });
    agentThatKeepsRunning();
    await startRunning('U1', 'C1', 'first');
    await h.sender.command({ text: 'second', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 1);
    await h.sender.command({ text: 'x'.repeat(41), user: 'U2', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 2);
    await h.bot.settled();
    expect(commandAnswers()).toEqual([
      'You already have 1 session running, and the limit is 1 per person. Stop one or wait for it to finish.',
      expect.stringMatching(/^Your request is 41 characters long; the limit is 40\./),
    ]);
    expect(sessions()).toHaveLength(1);
    // Someone else still may start (within the size limit).
    await startRunning('U2', 'C1', 'short');
    expect(sessions()).toHaveLength(2);
  });
});

describe('profiles narrow the lists', () => {
  it('a profile’s allowed_users and allowed_channels keep it to one team, where the bot-wide rules let everyone in', async () => {
    h = await startHarness(
      {},
      {
        agentsConfig: [
          'default_profile: general',
          'profiles:',
          '  general:',
          '    agent: { model: claude-sonnet-5-5 }',
          '  ops:',
          '    agent: { model: claude-sonnet-5-5 }',
          '    allowed_users: [UOPS1]',
          '    allowed_channels: [COPS]',
        ].join('\n'),
      },
    );
    agentThatKeepsRunning();
    await h.sender.command({ text: '--profile ops restart prod', user: 'U2', channel: 'COPS' });
    await h.slack.waitFor(() => commandAnswers().length === 1);
    await h.sender.command({ text: '--profile ops restart prod', user: 'UOPS1', channel: 'C2' });
    await h.slack.waitFor(() => commandAnswers().length === 2);
    expect(commandAnswers()).toEqual([
      'The `ops` agent is kept to a list of people and you are not on it; ask an admin, or use another profile.',
      'The `ops` agent cannot be started in <#C2>; try another channel or profile.',
    ]);
    expect(sessions()).toHaveLength(0);
    await h.sender.command({ text: '--profile ops restart prod', user: 'UOPS1', channel: 'COPS' });
    await h.agents.waitFor(() => sessions().length === 1);
    await h.slack.waitFor(() => roots('COPS').some((m) => JSON.stringify(m.blocks ?? '').includes('profile `ops`')));
    await startRunning('U2', 'C2', 'anything else');
    expect(sessions()).toHaveLength(2);
  });
});

describe('who may stop a session', () => {
  it('a bystander’s Stop button and :octagonal_sign: reaction are refused privately and send nothing', async () => {
    h = await startHarness();
    agentThatKeepsRunning();
    const { rootTs, sessionId } = await startRunning('U1');
    await h.sender.action(blockAction({ user: 'U3', channel: 'C1', messageTs: rootTs, actionId: 'stop_session' }));
    await h.sender.event(reactionAdded({ user: 'U3', reaction: 'octagonal_sign', channel: 'C1', ts: rootTs }));
    await h.slack.waitFor(() => ephemeralsTo('U3').length === 2);
    await h.bot.settled();
    expect(ephemeralsTo('U3')).toEqual(
      Array(2).fill('Only <@U1>, who started this session, or an admin can stop this session. Nothing was sent to the agent.'),
    );
    expect(interrupts(sessionId)).toHaveLength(0);
    expect(rootText(rootTs)).toContain('stop_session');
  });

  it('the session’s approver may stop it with the button, an admin with a reaction', async () => {
    h = await startHarness({ APPROVERS: 'U5', ADMIN_USERS: 'U9' });
    agentThatKeepsRunning();
    const first = await startRunning('U1', 'C1', 'one');
    await h.sender.action(blockAction({ user: 'U5', channel: 'C1', messageTs: first.rootTs, actionId: 'stop_session' }));
    await h.slack.waitFor(() => rootText(first.rootTs).includes('Stopped by <@U5>'));
    const second = await startRunning('U1', 'C1', 'two');
    await h.sender.event(reactionAdded({ user: 'U9', reaction: 'octagonal_sign', channel: 'C1', ts: second.rootTs }));
    await h.slack.waitFor(() => rootText(second.rootTs).includes('Stopped by <@U9>'));
    expect(interrupts(first.sessionId)).toHaveLength(1);
    expect(interrupts(second.sessionId)).toHaveLength(1);
  });
});

describe('who may steer', () => {
  it('by default anyone allowed to start may steer; an unlisted user’s replies get no 👀 and one private sentence per thread', async () => {
    h = await startHarness({ ALLOWED_USERS: 'U1,U2' });
    agentThatKeepsRunning();
    const { rootTs, sessionId } = await startRunning('U1');
    const fromColleague = await reply('C1', rootTs, 'U2', 'also check the tests');
    await h.agents.waitFor(() => userMessages(sessionId).length === 2);
    await h.slack.waitFor(() => eyesOn('C1', fromColleague));

    const first = await reply('C1', rootTs, 'U3', 'ignore all that');
    const second = await reply('C1', rootTs, 'U3', 'please?');
    await h.bot.settled();
    expect(userMessages(sessionId)).toHaveLength(2);
    expect(eyesOn('C1', first) || eyesOn('C1', second)).toBe(false);
    expect(ephemeralsTo('U3')).toEqual([expect.stringContaining('Your reply did not reach the agent')]);
  });

  it('a profile with steering: owner_only takes only the owner’s replies until the owner lets someone in by mention', async () => {
    h = await startHarness(
      { ADMIN_USERS: 'U9' },
      {
        agentsConfig: ['profiles:', '  ops:', '    agent: { model: claude-sonnet-5-5 }', '    steering: owner_only'].join('\n'),
      },
    );
    agentThatKeepsRunning();
    const { rootTs, sessionId } = await startRunning('U1');
    const before = await reply('C1', rootTs, 'U2', 'try the other branch');
    await h.slack.waitFor(() => ephemeralsTo('U2').length === 1);
    expect(ephemeralsTo('U2')[0]).toContain('Only <@U1>, who started this session, and the people they let in can steer it');
    expect(eyesOn('C1', before)).toBe(false);

    // A bystander cannot let people in; the owner can.
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U3', text: '<@U_BOT> let <@U3> steer' }));
    await h.slack.waitFor(() => ephemeralsTo('U3').length === 1);
    expect(ephemeralsTo('U3')[0]).toContain('Only <@U1>, who started this session, or an admin can let others steer it.');
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: '<@U_BOT> let <@U2> steer' }));
    await h.slack.waitFor(() => ephemeralsTo('U1').some((t) => t.includes('<@U2> can now steer')));
    // The mention that lets someone in is not an instruction for the agent.
    expect(userMessages(sessionId)).toHaveLength(1);

    const after = await reply('C1', rootTs, 'U2', 'now try the other branch');
    await h.agents.waitFor(() => userMessages(sessionId).length === 2);
    await h.slack.waitFor(() => eyesOn('C1', after));
    // An admin steers any session.
    await reply('C1', rootTs, 'U9', 'and wrap up');
    await h.agents.waitFor(() => userMessages(sessionId).length === 3);
  });

  it('a guest’s reply does not reach the agent', async () => {
    h = await startHarness();
    agentThatKeepsRunning();
    h.slack.users.set('UGUEST', { id: 'UGUEST', name: 'guest', real_name: 'Guest', is_restricted: true });
    const { rootTs, sessionId } = await startRunning('U1');
    const ts = await reply('C1', rootTs, 'UGUEST', 'do something else');
    await h.slack.waitFor(() => ephemeralsTo('UGUEST').length === 1);
    await h.bot.settled();
    expect(userMessages(sessionId)).toHaveLength(1);
    expect(eyesOn('C1', ts)).toBe(false);
  });
});

describe('approve and answer', () => {
  it('an admin may approve in any session; a bystander may not', async () => {
    h = await startHarness({ ADMIN_USERS: 'U9' });
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: 'make deploy' });
      await turn.message(`Deploy ${answer.result}ed.`);
    };
    await h.sender.command({ text: 'deploy', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => roots()[0]);
    const card = await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).find((m) => JSON.stringify(m.blocks ?? '').includes('approve_tool')));
    const eventId = String((card.metadata?.event_payload as { key?: string } | undefined)?.key).slice('approval:'.length);
    await h.sender.action(
      blockAction({ user: 'U3', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'approve_tool', value: eventId }),
    );
    await h.slack.waitFor(() => ephemeralsTo('U3').length === 1);
    expect(ephemeralsTo('U3')[0]).toContain('can approve or deny the agent’s tool calls');
    await h.sender.action(
      blockAction({ user: 'U9', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'approve_tool', value: eventId }),
    );
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).some((m) => m.markdown_text === 'Deploy allowed.'));
    const session = sessions()[0]!;
    expect(h.agents.received(session.id).filter((e) => e.type === 'user.tool_confirmation')).toEqual([expect.objectContaining({ result: 'allow' })]);
  });
});

describe('/agent stop-all', () => {
  it('asks an admin to confirm, then stops every running session and says how many; others are refused', async () => {
    h = await startHarness({ ADMIN_USERS: 'U9' });
    agentThatKeepsRunning();
    const a = await startRunning('U1', 'C1', 'one');
    const b = await startRunning('U2', 'C2', 'two');
    // Another workspace's running session in the same store (one bot installed in two): an
    // admin of this one neither sees it nor stops it.
    const kv = await openStore(h.env.STORE_URL);
    const records = new ThreadRecords(kv);
    const mine = (await records.get({ team: 'T1', channel: 'C1', threadTs: a.rootTs }))!;
    await records.create({ ...mine, team: 'T2', channel: 'C9', threadTs: '9.000001', owner: 'U8', prompt: 'elsewhere', status: 'active' });
    await kv.disconnect();

    // Admins see what runs; others are refused.
    await h.sender.command({ text: 'sessions', user: 'U9', channel: 'C1' });
    await h.sender.command({ text: 'sessions', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 2);
    const listed = commandAnswers().find((t) => t.startsWith('2 running sessions'));
    expect(listed).toContain('• <@U1> in <#C1>: one');
    expect(listed).toContain('• <@U2> in <#C2>: two');
    expect(commandAnswers()).toContain('Only the bot’s admins (ADMIN_USERS) can do that.');

    const refused = await h.sender.command({ text: 'stop-all', user: 'U1', channel: 'C1' });
    expect(JSON.stringify(refused.json)).toContain('Only the bot’s admins');

    const asked = await h.sender.command({ text: 'stop-all', user: 'U9', channel: 'C1' });
    const body = asked.json as { response_type?: string; blocks?: unknown[] };
    expect(body.response_type).toBe('ephemeral');
    expect(JSON.stringify(body.blocks)).toContain('stop_all_confirm');
    await h.bot.settled();
    // Nothing stops before the confirm.
    expect(interrupts(a.sessionId).length + interrupts(b.sessionId).length).toBe(0);

    await h.sender.action(blockAction({ user: 'U9', channel: 'C1', messageTs: '1.000001', actionId: 'stop_all_confirm' }));
    const answered = await h.slack.waitFor(() => h.slack.responseUrlPosts.find((p) => String(p.body?.text ?? '').startsWith('Stopped')));
    expect(answered.body.text).toBe('Stopped 2 running sessions.');
    expect(answered.body.replace_original).toBe(true);
    expect(interrupts(a.sessionId)).toHaveLength(1);
    expect(interrupts(b.sessionId)).toHaveLength(1);
    await h.slack.waitFor(() => rootText(a.rootTs).includes('Stopped by <@U9>') && rootText(b.rootTs, 'C2').includes('Stopped by <@U9>'));
    const stops = auditLines().filter((l) => l.action === 'stop');
    expect(stops.map((l) => [l.session, l.outcome, (l.detail as { via?: string }).via]).sort()).toEqual(
      [
        [a.sessionId, 'ok', 'stop_all'],
        [b.sessionId, 'ok', 'stop_all'],
      ].sort(),
    );
    expect(
      auditLines()
        .filter((l) => l.action === 'list_sessions')
        .map((l) => [l.user, l.outcome])
        .sort(),
    ).toEqual([
      ['U1', 'refused'],
      ['U9', 'ok'],
    ]);
    expect(
      auditLines()
        .filter((l) => l.action === 'stop_all')
        .map((l) => [l.user, l.outcome]),
    ).toEqual([
      ['U1', 'refused'],
      ['U9', 'ok'],
    ]);
  });
});

describe('spend caps', () => {
  /** Each turn spends $1.20 at the fake's list price (400k input tokens of claude-sonnet-5-5), then speaks. */
  function agentThatSpends(): void {
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 400_000, output_tokens: 0 });
      await turn.message('Finished after the spend.');
    };
  }
  const budgetCard = (rootTs: string) =>
    botReplies(h.slack, 'C1', rootTs).find((m) =>
      String((m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '').startsWith('budget:'),
    );

  it('creates sessions with SESSION_BUDGET_USD; at the cap the thread offers Raise the cap; a bystander is told privately, the owner raises it and the agent goes on', async () => {
    h = await startHarness({ SESSION_BUDGET_USD: '1', SESSION_BUDGET_MAX_USD: '3' });
    agentThatSpends();
    await h.sender.command({ text: 'spend', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => roots()[0]);
    const session = await h.agents.waitFor(() => sessions()[0]);
    expect(session.budget).toEqual({ type: 'limit', max_list_cost: { amount: '100', currency: 'USD' } });

    const card = await h.slack.waitFor(() => {
      const c = budgetCard(root.ts);
      return c && JSON.stringify(c.blocks).includes('raise_cap') && c;
    });
    expect(JSON.stringify(card.blocks)).toContain('reached its spend cap of $1.00 ($1.20 spent)');
    expect(JSON.stringify(card.blocks)).toContain('raise the cap to $2.00');
    await h.slack.waitFor(() => rootText(root.ts).includes('$1.20 of $1.00 cap'));
    const stopId = String((card.metadata?.event_payload as { key?: string } | undefined)?.key).slice('budget:'.length);

    await h.sender.action(blockAction({ user: 'U3', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'raise_cap', value: stopId }));
    await h.slack.waitFor(() => ephemeralsTo('U3').length === 1);
    expect(ephemeralsTo('U3')[0]).toContain('can raise this session’s spend cap or end it');
    expect(h.agents.requests.filter((r) => r.method === 'POST' && r.path === `/v1/sessions/${session.id}`)).toHaveLength(0);

    await h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'raise_cap', value: stopId }));
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).some((m) => m.markdown_text === 'Finished after the spend.'));
    expect(session.budget).toEqual({ type: 'limit', max_list_cost: { amount: '200', currency: 'USD' } });
    await h.slack.waitFor(() => JSON.stringify(budgetCard(root.ts)?.blocks).includes('<@U1> raised it to $2.00'));
    expect(JSON.stringify(budgetCard(root.ts)?.blocks)).not.toContain('raise_cap');
    const raised = auditLines().filter((l) => l.action === 'raise_cap');
    expect(raised.map((l) => [l.user, l.outcome])).toEqual([
      ['U3', 'refused'],
      ['U1', 'ok'],
    ]);
  });

  it('End archives a session stopped at its cap; at the maximum only End is offered', async () => {
    h = await startHarness({ SESSION_BUDGET_USD: '1', SESSION_BUDGET_MAX_USD: '1' });
    agentThatSpends();
    await h.sender.command({ text: 'spend', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => roots()[0]);
    const session = await h.agents.waitFor(() => sessions()[0]);
    const card = await h.slack.waitFor(() => {
      const c = budgetCard(root.ts);
      return c && JSON.stringify(c.blocks).includes('end_session') && c;
    });
    expect(JSON.stringify(card.blocks)).not.toContain('raise_cap');
    expect(JSON.stringify(card.blocks)).toContain('at its maximum ($1.00)');
    const stopId = String((card.metadata?.event_payload as { key?: string } | undefined)?.key).slice('budget:'.length);
    await h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'end_session', value: stopId }));
    await h.agents.waitFor(() => session.archived_at !== null);
    await h.slack.waitFor(() => JSON.stringify(budgetCard(root.ts)?.blocks).includes('<@U1> ended it'));
    await h.slack.waitFor(() => rootText(root.ts).includes('Ended'));
  });

  it('a model the API cannot budget is refused at start with a clear message, unless its profile turns budgets off', async () => {
    const profile = (budget: string) =>
      ['profiles:', '  lab:', '    agent: { model: claude-lab-preview }', ...(budget ? [`    budget_usd: ${budget}`] : [])].join('\n');
    h = await startHarness({ SESSION_BUDGET_USD: '5' }, { agentsConfig: profile('') });
    agentThatKeepsRunning();
    await h.sender.command({ text: 'try it', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => roots()[0]);
    await h.slack.waitFor(() => rootText(root.ts).includes('no public list price'));
    await h.bot.settled();
    expect(sessions()).toHaveLength(0);
    expect(
      auditLines()
        .filter((l) => l.action === 'start')
        .map((l) => l.outcome),
    ).toEqual(['failed']);
    await h.close();

    h = await startHarness({ SESSION_BUDGET_USD: '5' }, { agentsConfig: profile('false') });
    agentThatKeepsRunning();
    await startRunning('U1');
    expect(sessions()[0]!.budget).toBeNull();
  });

  it('without SESSION_BUDGET_USD sessions have no cap, and the start warning says so', async () => {
    h = await startHarness();
    agentThatKeepsRunning();
    await startRunning('U1');
    expect(sessions()[0]!.budget).toBeNull();
    const warnings = h.logs.lines().filter((l) => l.level === 'warn' && String(l.msg).startsWith('Running unrestricted'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('ALLOWED_USERS is empty');
    expect(warnings[0]!.msg).toContain('no spend cap');
    expect(warnings[0]!.unrestricted).toEqual(['default']);
  });
});

describe('start warning', () => {
  it('is not logged with ALLOWED_USERS and a cap', async () => {
    h = await startHarness({ ALLOWED_USERS: 'U1', SESSION_BUDGET_USD: '5' });
    expect(h.logs.lines().filter((l) => String(l.msg).startsWith('Running unrestricted'))).toHaveLength(0);
  });
});

describe('audit trail', () => {
  it('each action emits exactly one audit line with the documented fields', async () => {
    h = await startHarness({ ALLOWED_USERS: 'U1,U2', ADMIN_USERS: 'U9' });
    agentThatKeepsRunning();
    const { rootTs, sessionId } = await startRunning('U1');
    await h.sender.command({ text: 'nope', user: 'U4', channel: 'C1' });
    await h.slack.waitFor(() => commandAnswers().length === 1);
    await reply('C1', rootTs, 'U2', 'steer it');
    await h.agents.waitFor(() => userMessages(sessionId).length === 2);
    await reply('C1', rootTs, 'U4', 'me too');
    await h.sender.action(blockAction({ user: 'U4', channel: 'C1', messageTs: rootTs, actionId: 'stop_session' }));
    await h.sender.event(appMention({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: '<@U_BOT> let <@U4> steer' }));
    await h.slack.waitFor(() => ephemeralsTo('U1').length === 1);
    await h.sender.action(blockAction({ user: 'U9', channel: 'C1', messageTs: rootTs, actionId: 'stop_session' }));
    await h.agents.waitFor(() => interrupts(sessionId).length === 1);
    await h.bot.settled();

    const lines = auditLines();
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining(['audit', 'action', 'user', 'team', 'channel', 'thread', 'session', 'outcome', 'reason']),
      );
      expect(l.msg).toBe('audit');
      expect(l.level).toBe('info');
    }
    // Replies and clicks are handled concurrently, so the lines are compared as a set.
    expect(lines.map((l) => [l.action, l.user, l.outcome, l.reason]).sort()).toEqual(
      [
        ['start', 'U1', 'ok', null],
        ['start', 'U4', 'refused', 'user_not_listed'],
        ['steer', 'U2', 'ok', null],
        ['steer', 'U4', 'refused', 'not_allowed_to_steer'],
        ['stop', 'U4', 'refused', 'not_allowed_to_stop'],
        ['let_in', 'U1', 'ok', null],
        ['stop', 'U9', 'ok', null],
      ].sort(),
    );
    const line = (action: string, user: string) => lines.find((l) => l.action === action && l.user === user);
    expect(line('start', 'U1')).toMatchObject({ audit: true, team: 'T1', channel: 'C1', thread: rootTs, session: sessionId });
    expect(line('start', 'U4')).toMatchObject({ channel: 'C1', thread: null, session: null });
    expect(line('let_in', 'U1')).toMatchObject({ detail: { people: ['U4'] }, thread: rootTs, session: sessionId });
    expect(line('stop', 'U9')).toMatchObject({ detail: { via: 'button' }, thread: rootTs, session: sessionId });
  });

  it('approvals, denials and answers are one line each, refusals included', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.confirmToolUse('bash', { command: 'make deploy' });
      await turn.confirmToolUse('bash', { command: 'make rollback' });
      await turn.customTool('ask_user', { question: 'Which region?', choices: ['eu', 'us'] });
      await turn.message('All done.');
    };
    await h.sender.command({ text: 'deploy', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => roots()[0]);
    const session = await h.agents.waitFor(() => sessions()[0]);
    const keyOf = (m: { metadata?: { event_payload?: unknown } }) => String((m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '');
    const waitForCard = (prefix: string, button: string, skip: string[] = []) =>
      h.slack.waitFor(() =>
        botReplies(h.slack, 'C1', root.ts).find(
          (m) => keyOf(m).startsWith(prefix) && !skip.includes(keyOf(m)) && JSON.stringify(m.blocks ?? '').includes(button),
        ),
      );
    const click = (user: string, card: { ts: string }, actionId: string, value: string) =>
      h.sender.action(blockAction({ user, channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId, value }));

    const first = await waitForCard('approval:', 'approve_tool');
    const firstId = keyOf(first).slice('approval:'.length);
    await click('U3', first, 'approve_tool', firstId);
    await h.slack.waitFor(() => ephemeralsTo('U3').length === 1);
    await click('U1', first, 'approve_tool', firstId);
    const second = await waitForCard('approval:', 'deny_tool', [keyOf(first)]);
    const secondId = keyOf(second).slice('approval:'.length);
    await click('U1', second, 'deny_tool', secondId);
    const view = await h.slack.waitFor(() => [...h.slack.views.values()][0]);
    await h.sender.submitView(view.id, { reason: { reason_input: 'not today' } });
    const question = await waitForCard('question:', 'answer_question');
    const questionId = keyOf(question).slice('question:'.length);
    await h.sender.action(
      blockAction({
        user: 'U1',
        channel: 'C1',
        messageTs: question.ts,
        threadTs: root.ts,
        actionId: 'answer_question:0',
        value: JSON.stringify({ e: questionId, i: 0 }),
        message: { blocks: question.blocks },
      }),
    );
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).some((m) => m.markdown_text === 'All done.'));
    await h.bot.settled();

    expect(auditLines().map((l) => [l.action, l.user, l.outcome, l.session])).toEqual([
      ['start', 'U1', 'ok', session.id],
      ['approve', 'U3', 'refused', session.id],
      ['approve', 'U1', 'ok', session.id],
      ['deny', 'U1', 'ok', session.id],
      ['answer', 'U1', 'ok', session.id],
    ]);
    expect(auditLines().map((l) => (l.detail as { toolUseId?: string } | undefined)?.toolUseId)).toEqual([
      undefined,
      firstId,
      firstId,
      secondId,
      questionId,
    ]);
  });
});
