import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event, FileObj, Turn } from '../fakes/managed-agents/index.js';
import { appMention, blockAction, humanReply } from '../fakes/slack/index.js';
import type { StoredMessage } from '../fakes/slack/types.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

/**
 * What reaches the agent, through every fault on the agents' side: one session per
 * request, each message once and in order, a silent stream noticed and caught up, and
 * the bot's custom tools offered to any agent. Each test ends comparing exactly what
 * the agent received and what the thread shows.
 */

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');
const sessions = () => [...h.agents.sessions.values()];
const textOfEvent = (e: Event) =>
  Array.isArray(e.content)
    ? (e.content as Array<{ type: string; text?: string }>)
        .filter((b) => b.type === 'text')
        .map((b) => b.text)
        .join('\n')
    : '';
/** The user.messages the session took, first line of each (files add lines below the words). */
const prompts = (sessionId: string) =>
  h.agents
    .received(sessionId)
    .filter((e) => e.type === 'user.message')
    .map((e) => textOfEvent(e).split('\n')[0]);
const postsOf = (type: string) =>
  h.agents.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events') && JSON.stringify(r.body).includes(`"${type}"`));
const uploads = (): FileObj[] => [...h.agents.files.values()].filter((f) => !f.scope);
const echo = async (turn: Turn) => turn.message(`You said: ${turn.text.split('\n')[0]}`);

describe('sessions.create with an unknown outcome: one /agent, one session', () => {
  it.each([
    ['answered 500 after the session was created', { status: 500, afterApply: true }],
    ['lost its answer to a dropped connection after the session was created', { status: 500, afterApply: true, drop: true }],
  ])('a create that %s is found by its request id, not made twice', async (_, failure) => {
    h = await startHarness();
    h.agents.onTurn = echo;
    h.agents.failNext({ method: 'POST', path: '/v1/sessions' }, failure);
    await h.sender.command({ text: 'one session please', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    const root = rootOf()!;
    expect(h.agents.requests.filter((r) => r.method === 'POST' && r.path === '/v1/sessions')).toHaveLength(1);
    expect(sessions()).toHaveLength(1);
    const [session] = sessions();
    expect(session!.metadata.slack_request).toMatch(/^[0-9a-f-]{36}$/);
    expect(prompts(session!.id)).toEqual(['one session please']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('You said: one session please');
    expect(h.logs.lines().some((l) => l.msg === 'session created (found after an unknown outcome)')).toBe(true);
  });

  it('a create that landed while the API would not say so: the person is told, and the session is archived once it shows up', async () => {
    h = await startHarness({}, { orphanSweepDelaysMs: [50, 100] });
    h.agents.onTurn = echo;
    h.agents.failNext({ method: 'POST', path: '/v1/sessions' }, { status: 500, afterApply: true });
    // Every look-up fails for a while: the bot cannot know, so it does not create again.
    h.agents.failNext({ method: 'GET', path: '/v1/sessions' }, { status: 503, times: 4 });
    await h.sender.command({ text: 'is there a session?', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes(':x: Failed'));
    const root = rootOf()!;
    await h.slack.waitFor(() => h.slack.thread('C1', root.ts).some((m) => m.text.includes(':warning:') && m.text.includes('server error')));
    const [session] = await h.agents.waitFor(() => sessions().length === 1 && sessions()[0]!.archived_at !== null && sessions());
    await h.bot.settled();
    expect(h.agents.requests.filter((r) => r.method === 'POST' && r.path === '/v1/sessions')).toHaveLength(1);
    expect(h.agents.received(session!.id)).toEqual([]);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('');
    await h.logs.waitFor((l) => l.msg === 'archived a session whose create had looked failed' && l.sessionId === session!.id);
  });

  it('a crash after the create landed and before the session id was stored: the restart finds the session and goes on', async () => {
    h = await startHarness({}, { closeGraceMs: 200 });
    h.agents.onTurn = echo;
    // The API creates the session; its answer never reaches the bot that asked.
    h.agents.holdNext({ method: 'POST', path: '/v1/sessions' }, 'never', { afterApply: true });
    await h.sender.command({ text: 'survive the crash', user: 'U1', channel: 'C1' });
    await h.agents.waitFor(() => h.agents.sessions.size === 1);
    const root = await h.slack.waitFor(() => rootOf());
    await h.restart();
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(sessions()).toHaveLength(1);
    expect(h.agents.requests.filter((r) => r.method === 'POST' && r.path === '/v1/sessions')).toHaveLength(1);
    expect(prompts(sessions()[0]!.id)).toEqual(['survive the crash']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('You said: survive the crash');
    expect(h.logs.lines().some((l) => l.msg === 'session found after a restart and adopted')).toBe(true);
  });
});

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('messages reach the agent in the order people wrote them, each once', () => {
  it('a reply with a file and the plain reply right after it keep their order', async () => {
    h = await startHarness();
    h.agents.onTurn = echo;
    await h.sender.command({ text: 'start', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    const root = rootOf()!;
    const sid = sessions()[0]!.id;

    // The file's upload takes its time; the plain reply written after it must wait.
    h.agents.holdNext({ method: 'POST', path: '/v1/files' }, 'upload');
    const notes = h.slack.addFile({ name: 'notes.txt', mimetype: 'text/plain', content: 'remember' });
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'first, with a file', files: [notes] }));
    await h.agents.waitFor(() => h.agents.requests.some((r) => r.method === 'POST' && r.path === '/v1/files'));
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'second, plain' }));
    // Either it waits its turn (the fix) or it has already overtaken the first.
    await Promise.race([
      h.logs.waitFor((l) => l.msg === 'reply waits for an earlier one of its thread'),
      h.agents.waitFor(() => prompts(sid).includes('second, plain')),
    ]);
    h.agents.release('upload');
    await h.agents.waitFor(() => prompts(sid).length === 3 && h.agents.sessions.get(sid)?.status === 'idle');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('You said: second, plain') && rootText().includes('Done'));
    await h.bot.settled();
    expect(prompts(sid)).toEqual(['start', 'first, with a file', 'second, plain']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('You said: start\n\nYou said: first, with a file\n\nYou said: second, plain');
  });

  it('a prompt never sent before a restart goes with its files, uploaded once', async () => {
    h = await startHarness({}, { closeGraceMs: 200 });
    const contents: unknown[][] = [];
    h.agents.onTurn = async (turn) => {
      contents.push(turn.content);
      await echo(turn);
    };
    const png = h.slack.addFile({ name: 'chart.png', mimetype: 'image/png', content: PNG });
    // The bot dies while its first send is on the way (it never lands).
    h.agents.holdNext({ method: 'POST', path: /^\/v1\/sessions\/[^/]+\/events$/ }, 'never');
    const mention = appMention({ channel: 'C1', user: 'U1', text: 'look at this chart', files: [png] });
    await h.sender.event(mention);
    await h.agents.waitFor(() => h.agents.requests.some((r) => r.method === 'POST' && /\/events$/.test(r.path)));
    await h.restart();
    await h.agents.waitFor(() => contents.length === 1);
    await h.slack.waitFor(() => h.slack.thread('C1', String(mention.ts)).some((m) => m.markdown_text === 'You said: look at this chart'));
    await h.bot.settled();
    expect(uploads().map((f) => f.filename)).toEqual(['chart.png']);
    expect(contents[0]).toEqual([
      { type: 'text', text: expect.stringContaining('look at this chart') },
      { type: 'image', source: { type: 'file', file_id: uploads()[0]!.id } },
    ]);
    expect(sessions()).toHaveLength(1);
    expect(prompts(sessions()[0]!.id)).toEqual(['look at this chart']);
    expect(agentText(h.slack, 'C1', String(mention.ts))).toBe('You said: look at this chart');
  });

  it('a reply with a file while a question is open answers it, and the file goes with the answer', async () => {
    h = await startHarness();
    const answers: Array<{ content: unknown; is_error?: boolean }> = [];
    h.agents.onTurn = async (turn) => {
      answers.push(await turn.customTool('ask_user', { question: 'Which build log?' }));
      await turn.message('Thanks, reading it.');
    };
    await h.sender.command({ text: 'why is the build red', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    const keyOf = (m: StoredMessage) => (m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '';
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).find((m) => keyOf(m).startsWith('question:')));
    const log = h.slack.addFile({ name: 'build.log', mimetype: 'text/plain', content: 'error: clang 18\n' });
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'this one', files: [log] }));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Thanks, reading it.') && rootText().includes('Done'));
    await h.bot.settled();
    const uploaded = uploads().find((f) => f.filename === 'build.log')!;
    expect(answers).toHaveLength(1);
    expect(answers[0]!.content).toEqual([
      { type: 'text', text: expect.stringMatching(/^<@U1> answered: this one\n\n\[Files shared in Slack with this message\]\n- build\.log/) },
      { type: 'document', source: { type: 'file', file_id: uploaded.id }, title: 'build.log' },
    ]);
    const sid = sessions()[0]!.id;
    expect(h.agents.received(sid).map((e) => e.type)).toEqual(['user.message', 'user.custom_tool_result']);
    expect(prompts(sid)).toEqual(['why is the build red']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Thanks, reading it.');
  });
});

describe('a stream that goes silent while the session runs', () => {
  it('is noticed by the watchdog, reopened and caught up from the list: no gap, no duplicate', async () => {
    // Keep-alives every 50 ms; the watchdog allows 400 ms without a byte.
    h = await startHarness({}, { agents: { pingIntervalMs: 50 }, streamSilenceMs: 400 });
    h.agents.onTurn = async (turn) => {
      await turn.message('Before the silence.');
      await turn.gate('silence');
      await turn.message('During the silence.');
      await turn.gate('after');
      await turn.message('After it.');
    };
    await h.sender.command({ text: 'keep going', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Before the silence.'));
    const sid = sessions()[0]!.id;
    const streamsBefore = h.agents.requests.filter((r) => r.path.endsWith('/events/stream')).length;
    h.agents.silenceStreams(sid);
    const silencedAt = Date.now();
    h.agents.release('silence');
    const noticed = await h.logs.waitFor((l) => l.msg === 'event stream silent too long; reconnecting');
    const unnoticedMs = Date.now() - silencedAt;
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('During the silence.'));
    h.agents.release('after');
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(noticed).toMatchObject({ sessionId: sid, silenceMs: 400 });
    expect(h.agents.requests.filter((r) => r.path.endsWith('/events/stream')).length).toBe(streamsBefore + 1);
    expect(prompts(sid)).toEqual(['keep going']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Before the silence.\n\nDuring the silence.\n\nAfter it.');
    console.info(`silent stream went unnoticed for ${unnoticedMs} ms (watchdog 400 ms, fake pings every 50 ms)`);
  });

  it('a quiet stream that still gets keep-alives is left alone (heartbeats count as life)', async () => {
    h = await startHarness({}, { agents: { pingIntervalMs: 50 }, streamSilenceMs: 400 });
    h.agents.onTurn = async (turn) => {
      await turn.message('Starting a slow build.');
      await turn.wait(1500);
      await turn.message('Built.');
    };
    await h.sender.command({ text: 'build it', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(h.logs.lines().filter((l) => l.msg === 'event stream silent too long; reconnecting')).toEqual([]);
    expect(h.agents.requests.filter((r) => r.path.endsWith('/events/stream'))).toHaveLength(1);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Starting a slow build.\n\nBuilt.');
  });
});

describe('other sends whose answer was lost go out once', () => {
  it('a user.interrupt that landed but answered 500 is not sent again (it would cut the next turn short)', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      if (turn.text === 'long job') {
        await turn.message('Starting a long job.');
        await turn.gate('never');
      }
      await echo(turn);
    };
    await h.sender.command({ text: 'long job', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Starting a long job.') && rootText().includes('stop_session'));
    const sid = sessions()[0]!.id;
    h.agents.failNext({ method: 'POST', path: `/v1/sessions/${sid}/events` }, { status: 500, afterApply: true });
    await h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts, actionId: 'stop_session', value: `T1:C1:${root.ts}` }));
    await h.slack.waitFor(() => rootText().includes('Stopped by <@U1>'));
    await h.bot.settled();
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'carry on' }));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('You said: carry on') && rootText().includes('Done'));
    await h.bot.settled();
    expect(postsOf('user.interrupt')).toHaveLength(1);
    expect(h.agents.received(sid).map((e) => e.type)).toEqual(['user.message', 'user.interrupt', 'user.message']);
    expect(prompts(sid)).toEqual(['long job', 'carry on']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Starting a long job.\n\nYou said: carry on');
  });

  it('a tool confirmation that landed but answered 500 is found in the history, not sent again', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: 'make' }, { text: 'built' });
      await turn.message(`The call was ${answer.result}ed.`);
    };
    await h.sender.command({ text: 'build', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    const keyOf = (m: StoredMessage) => (m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '';
    const card = await h.slack.waitFor(() =>
      botReplies(h.slack, 'C1', root.ts).find((m) => keyOf(m).startsWith('approval:') && JSON.stringify(m.blocks).includes('approve_tool')),
    );
    const eventId = keyOf(card).slice('approval:'.length);
    const sid = sessions()[0]!.id;
    h.agents.failNext({ method: 'POST', path: `/v1/sessions/${sid}/events` }, { status: 500, afterApply: true });
    await h.sender.action(
      blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'approve_tool', value: eventId }),
    );
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('The call was allowed.') && rootText().includes('Done'));
    await h.bot.settled();
    expect(postsOf('user.tool_confirmation')).toHaveLength(1);
    expect(h.agents.received(sid).map((e) => e.type)).toEqual(['user.message', 'user.tool_confirmation']);
    expect(prompts(sid)).toEqual(['build']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('The call was allowed.');
  });

  it('a custom tool result that landed but answered 500 is found in the history, not sent again', async () => {
    h = await startHarness();
    const results: unknown[] = [];
    h.agents.onTurn = async (turn) => {
      // The prompt is in; the next send is the tool's result: it lands and answers 500.
      h.agents.failNext({ method: 'POST', path: `/v1/sessions/${turn.sessionId}/events` }, { status: 500, afterApply: true });
      results.push(await turn.customTool('read_thread', { limit: 5 }));
      await turn.message('Read the thread.');
    };
    await h.sender.command({ text: 'read it', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Read the thread.') && rootText().includes('Done'));
    await h.bot.settled();
    const sid = sessions()[0]!.id;
    expect(postsOf('user.custom_tool_result')).toHaveLength(1);
    expect(h.agents.received(sid).map((e) => e.type)).toEqual(['user.message', 'user.custom_tool_result']);
    expect(results).toHaveLength(1);
    expect(prompts(sid)).toEqual(['read it']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Read the thread.');
  });
});

describe('an operator’s own agent without the bot’s custom tools', () => {
  it('is named once at start, and its sessions get ask_user and read_thread: a question is asked and answered by button', async () => {
    let agentId = '';
    h = await startHarness(
      {},
      {
        prepare: async (agents) => {
          const client = new Anthropic({ apiKey: 'test-key', baseURL: agents.url, maxRetries: 0 });
          const agent = await client.beta.agents.create({
            name: 'ops agent',
            model: 'claude-opus-5-5',
            tools: [{ type: 'agent_toolset_20260401', configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] }],
          });
          agentId = agent.id;
          return { AGENT_ID: agent.id };
        },
      },
    );
    const warnings = h.logs.lines().filter((l) => Array.isArray(l.missingTools));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ agentId, missingTools: ['read_thread', 'ask_user'] });
    expect(String(warnings[0]!.msg)).toContain('read_thread, ask_user');

    const answers: Array<{ content: unknown }> = [];
    h.agents.onTurn = async (turn) => {
      // A model only calls the tools its session was given.
      if (!turn.customTools.includes('ask_user')) return void (await turn.message('I have no way to ask you.'));
      answers.push(await turn.customTool('ask_user', { question: 'Which environment?', choices: ['staging', 'production'] }));
      await turn.message('Deploying.');
    };
    await h.sender.command({ text: 'deploy', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    const keyOf = (m: StoredMessage) => (m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '';
    const card = await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).find((m) => keyOf(m).startsWith('question:')));
    const eventId = keyOf(card).slice('question:'.length);
    await h.sender.action(
      blockAction({
        user: 'U1',
        channel: 'C1',
        messageTs: card.ts,
        threadTs: root.ts,
        actionId: 'answer_question:0',
        value: JSON.stringify({ e: eventId, i: 0 }),
        message: { blocks: card.blocks },
      }),
    );
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Deploying.') && rootText().includes('Done'));
    await h.bot.settled();

    const [session] = sessions();
    expect(sessions()).toHaveLength(1);
    expect(session!.agent.id).toBe(agentId);
    const tools = session!.agent.tools as Array<{ type: string; name?: string; configs?: Array<{ name: string; permission_policy: unknown }> }>;
    expect(tools.map((t) => t.name ?? t.type)).toEqual(['agent_toolset_20260401', 'read_thread', 'ask_user']);
    // The agent's own toolset settings are kept as they were.
    expect(tools[0]!.configs!.find((c) => c.name === 'bash')!.permission_policy).toEqual({ type: 'always_ask' });
    expect(JSON.stringify(answers[0]!.content)).toContain('<@U1> answered: staging');
    expect(prompts(session!.id)).toEqual(['deploy']);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Deploying.');
  });
});
