import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FeedbackButtonsAction } from '@slack/bolt';
import type { AgentSessionStoppedEvent, AppHomeOpenedEvent, AssistantThreadStartedEvent, ContextActionsBlock } from '@slack/types';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appHomeOpened, assistantThreadStarted, feedbackClick, SlackSender, sign, startFakeSlack, type FakeSlack } from './fakes/slack/index.js';
import { SLACK_LIMITS } from '../src/render/slack-limits.js';

// The agent surfaces of the fake Slack (agents.sessions.*, assistant.threads.*, views.publish,
// feedback buttons and the events around them), driven through the real WebClient, whose
// argument types are web-api 8.2's: a field the fake reads that the .d.ts lacks does not compile.

let fake: FakeSlack;
let client: WebClient;

async function slackError(p: Promise<unknown>): Promise<{ error: string; data: Record<string, unknown> }> {
  const err = (await p.then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  )) as { code?: string; data?: { error?: string } };
  expect(err.code).toBe(ErrorCode.PlatformError);
  return { error: err.data?.error ?? '', data: err.data as Record<string, unknown> };
}

beforeEach(async () => {
  fake = await startFakeSlack();
  client = new WebClient('xoxb-test', {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
  });
});
afterEach(async () => {
  await fake.close();
});

/** The keys of an event as @slack/types declares them: tsc refuses a list with one missing or one extra. */
function keysOf<T>(keys: Record<keyof T, true>): string[] {
  return Object.keys(keys).sort();
}

describe('agents.sessions (real WebClient)', () => {
  it('creates a thread session on the first setStatus, keeps its first title and initiator, and records every status', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    const created = await client.agents.sessions.setStatus({
      channel_id: 'C1',
      thread_ts: root.ts!,
      status: 'processing',
      title: 'fix the build',
      initiator_user_id: 'U1',
    });
    expect(created).toMatchObject({ ok: true, status: 'processing', title: 'fix the build' });
    // A title on a later call is ignored: only rename changes it.
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'active', title: 'other' });
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'closed' });
    expect(fake.agentSession('C1', root.ts!)).toEqual({
      channel: 'C1',
      threadTs: root.ts,
      status: 'closed',
      history: ['processing', 'active', 'closed'],
      title: 'fix the build',
      initiator: 'U1',
    });

    await client.agents.sessions.rename({ channel_id: 'C1', thread_ts: root.ts!, title: 'fix the build on main' });
    expect(fake.agentSession('C1', root.ts!)?.title).toBe('fix the build on main');
  });

  it('refuses what Slack refuses: an unknown status, no thread, a long title, a thread that does not exist', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    expect((await slackError(client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'working' }))).error).toBe(
      'invalid_arguments',
    );
    expect((await slackError(client.agents.sessions.setStatus({ channel_id: 'C1', status: 'active' }))).error).toBe('invalid_arguments');
    const long = 'x'.repeat(201);
    expect((await slackError(client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'active', title: long }))).error).toBe(
      'invalid_arguments',
    );
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'active', title: 'x'.repeat(200) });
    expect((await slackError(client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: '1.000001', status: 'active' }))).error).toBe(
      'thread_not_found',
    );
    expect((await slackError(client.agents.sessions.rename({ channel_id: 'C1', thread_ts: root.ts!, title: long }))).error).toBe('invalid_arguments');
    const other = await client.chat.postMessage({ channel: 'C1', text: 'no session here' });
    expect((await slackError(client.agents.sessions.rename({ channel_id: 'C1', thread_ts: other.ts!, title: 't' }))).error).toBe('session_not_found');
  });

  it('refuses every agent surface alike once switched off, missing_scope with needed/provided, and takes them again after', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    fake.refuseAgentFeatures('missing_scope');
    const refused = await slackError(client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'processing' }));
    expect(refused).toMatchObject({ error: 'missing_scope', data: { needed: 'assistant:write' } });
    fake.refuseAgentFeatures('not_allowed');
    expect((await slackError(client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'is thinking…' }))).error).toBe(
      'not_allowed',
    );
    expect((await slackError(client.agents.sessions.rename({ channel_id: 'C1', thread_ts: root.ts!, title: 't' }))).error).toBe('not_allowed');
    // Ordinary messages are not agent surfaces.
    await client.chat.postMessage({ channel: 'C1', thread_ts: root.ts!, text: 'still posts' });
    expect(fake.agentSession('C1', root.ts!)).toBeUndefined();
    fake.refuseAgentFeatures(undefined);
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'processing' });
    expect(fake.agentSession('C1', root.ts!)?.status).toBe('processing');
  });

  it('agent_session_stopped: only while processing, with the streams still open in the thread, shaped as @slack/types declares', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'active' });
    expect(() => fake.agentSessionStopped('C1', root.ts!, 'U1')).toThrow(/no Stop to press/);
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'processing' });
    const stream = await client.chat.startStream({ channel: 'C1', thread_ts: root.ts!, recipient_user_id: 'U1', recipient_team_id: 'T1' });
    const event = fake.agentSessionStopped('C1', root.ts!, 'U1');
    expect(event).toMatchObject({ type: 'agent_session_stopped', channel: 'C1', user: 'U1', thread_ts: root.ts, streaming_message_ts: [stream.ts] });
    expect(Object.keys(event).sort()).toEqual(
      keysOf<AgentSessionStoppedEvent>({ type: true, channel: true, user: true, thread_ts: true, streaming_message_ts: true, event_ts: true }),
    );
  });
});

describe('assistant.threads (real WebClient)', () => {
  it('keeps the status with its loading messages until the bot replies, and refuses more than 10', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    await client.assistant.threads.setStatus({
      channel_id: 'C1',
      thread_ts: root.ts!,
      status: 'is working…',
      loading_messages: ['running `npm test`…', 'reading the logs…'],
    });
    expect(fake.assistantThread('C1', root.ts!)).toMatchObject({
      status: 'is working…',
      loadingMessages: ['running `npm test`…', 'reading the logs…'],
    });
    expect(fake.statusOf('C1', root.ts!)).toBe('is working…');
    await client.chat.postMessage({ channel: 'C1', thread_ts: root.ts!, text: 'a reply' });
    expect(fake.assistantThread('C1', root.ts!)?.status).toBeUndefined();
    expect(fake.assistantThread('C1', root.ts!)?.loadingMessages).toBeUndefined();

    const eleven = Array.from({ length: 11 }, (_, i) => `step ${i}`);
    expect(
      (await slackError(client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 's', loading_messages: eleven }))).error,
    ).toBe('invalid_arguments');
    await client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 's', loading_messages: eleven.slice(1) });
    await client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: '' });
    expect(fake.statusOf('C1', root.ts!)).toBeUndefined();
  });

  it('suggested prompts (at most 4, each with a title and a message) on a DM without a thread, and a title on a thread', async () => {
    const prompts = [
      { title: 'Fix CI', message: 'Fix the failing CI on main' },
      { title: 'Review', message: 'Review my last PR' },
    ];
    await client.assistant.threads.setSuggestedPrompts({ channel_id: 'D1', prompts, title: 'Try one of these' });
    expect(fake.assistantThread('D1')).toEqual({ prompts, promptsTitle: 'Try one of these' });
    const five = Array.from({ length: 5 }, (_, i) => ({ title: `t${i}`, message: `m${i}` }));
    expect((await slackError(client.assistant.threads.setSuggestedPrompts({ channel_id: 'D1', prompts: five }))).error).toBe('invalid_arguments');
    expect((await slackError(client.assistant.threads.setSuggestedPrompts({ channel_id: 'D1', prompts: [{ title: 't', message: '' }] }))).error).toBe(
      'invalid_arguments',
    );

    const root = await client.chat.postMessage({ channel: 'D1', text: 'hello' });
    await client.assistant.threads.setTitle({ channel_id: 'D1', thread_ts: root.ts!, title: 'Fix CI' });
    expect(fake.assistantThread('D1', root.ts!)?.title).toBe('Fix CI');
  });
});

describe('views.publish (real WebClient)', () => {
  const section = (text: string) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text } });

  it('publishes a Home tab per user, answers the view with a fresh hash, and refuses a stale hash', async () => {
    fake.users.set('U1', { id: 'U1', name: 'u1', real_name: 'U1' });
    const first = await client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [section('one')] } });
    expect(first.view).toMatchObject({ type: 'home', blocks: [section('one')] });
    const second = await client.views.publish({ user_id: 'U1', hash: first.view!.hash!, view: { type: 'home', blocks: [section('two')] } });
    expect(second.view?.id).toBe(first.view?.id);
    expect(fake.homeViews.get('U1')).toMatchObject({ publishes: 2, blocks: [section('two')] });
    expect((await slackError(client.views.publish({ user_id: 'U1', hash: first.view!.hash!, view: { type: 'home', blocks: [] } }))).error).toBe(
      'hash_conflict',
    );
    expect((await slackError(client.views.publish({ user_id: 'U_NOBODY', view: { type: 'home', blocks: [] } }))).error).toBe('user_not_found');
  });

  it('checks the Home tab against Slack’s limits: 100 blocks, section text, a modal is not a Home tab', async () => {
    fake.users.set('U1', { id: 'U1', name: 'u1', real_name: 'U1' });
    const blocks = Array.from({ length: SLACK_LIMITS.blocksPerView }, (_, i) => section(`row ${i}`));
    await client.views.publish({ user_id: 'U1', view: { type: 'home', blocks } });
    const tooMany = await slackError(client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [...blocks, section('one more')] } }));
    expect(tooMany.error).toBe('invalid_arguments');
    const long = await slackError(
      client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [section('x'.repeat(SLACK_LIMITS.sectionText + 1))] } }),
    );
    expect(long.error).toBe('invalid_arguments');
    const modal = slackError(
      client.views.publish({
        user_id: 'U1',
        // A modal where a Home tab belongs: the .d.ts allows any view, Slack does not.
        view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [section('x')] },
      }),
    );
    expect((await modal).error).toBe('invalid_arguments');
  });
});

describe('feedback buttons', () => {
  const feedback: ContextActionsBlock = {
    type: 'context_actions',
    block_id: 'feedback',
    elements: [
      {
        type: 'feedback_buttons',
        action_id: 'feedback',
        positive_button: { text: { type: 'plain_text', text: '👍' }, value: 'good', accessibility_label: 'Good answer' },
        negative_button: { text: { type: 'plain_text', text: '👎' }, value: 'bad', accessibility_label: 'Bad answer' },
      },
    ],
  };

  it('takes a context_actions block of feedback buttons on a message and on stopStream, and refuses broken ones', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    await client.chat.postMessage({ channel: 'C1', thread_ts: root.ts!, text: 'answer', blocks: [feedback] });
    const stream = await client.chat.startStream({ channel: 'C1', thread_ts: root.ts!, recipient_user_id: 'U1', recipient_team_id: 'T1' });
    await client.chat.stopStream({ channel: 'C1', ts: stream.ts!, blocks: [feedback] });
    expect(fake.thread('C1', root.ts!).at(-1)?.blocks).toEqual([feedback]);

    const six = { ...feedback, elements: Array.from({ length: SLACK_LIMITS.contextActionsElements + 1 }, () => feedback.elements[0]!) };
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [six] }))).error).toBe('invalid_blocks');
    const noValue = structuredClone(feedback);
    const buttons = noValue.elements[0]!;
    if (buttons.type === 'feedback_buttons') buttons.negative_button.value = '';
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [noValue] }))).error).toBe('invalid_blocks');
    const button = { type: 'context_actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' } }] };
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [button as never] }))).error).toBe('invalid_blocks');
  });

  describe('sent to the bot', () => {
    const SECRET = 'shh';
    let server: Server;
    let received: string[];
    let sender: SlackSender;

    beforeEach(async () => {
      received = [];
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const ts = Number(req.headers['x-slack-request-timestamp']);
          received.push(body);
          res.writeHead(req.headers['x-slack-signature'] === sign(SECRET, ts, body) ? 200 : 401).end('{}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      sender = new SlackSender({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, signingSecret: SECRET, fake });
    });
    afterEach(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('a click is a block_actions with type feedback_buttons, the clicked half’s value and label (Bolt’s FeedbackButtonsAction)', async () => {
      const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
      const answer = await client.chat.postMessage({ channel: 'C1', thread_ts: root.ts!, text: 'answer', blocks: [feedback] });
      await sender.action(
        feedbackClick({ user: 'U1', channel: 'C1', messageTs: answer.ts!, threadTs: root.ts!, actionId: 'feedback', value: 'bad' }),
      );
      const payload = JSON.parse(new URLSearchParams(received[0]!).get('payload')!) as { actions: FeedbackButtonsAction[] };
      expect(payload.actions[0]).toMatchObject({
        type: 'feedback_buttons',
        action_id: 'feedback',
        block_id: 'feedback',
        value: 'bad',
        text: { type: 'plain_text', text: '👎' },
      });
    });

    it('assistant_thread_started and app_home_opened are shaped as @slack/types declares them', async () => {
      const started = assistantThreadStarted({ user: 'U1', channel: 'D1', threadTs: '1700000000.000100' });
      expect(Object.keys(started).sort()).toEqual(keysOf<AssistantThreadStartedEvent>({ type: true, assistant_thread: true, event_ts: true }));
      const opened = appHomeOpened({ user: 'U1', channel: 'D1', tab: 'messages' });
      // `view` and `context` are optional; Slack sends `view` only for the Home tab once something was published.
      const {
        view: _view,
        context: _context,
        ...required
      } = {
        type: true,
        user: true,
        channel: true,
        tab: true,
        event_ts: true,
        view: true,
        context: true,
      } satisfies Record<keyof AppHomeOpenedEvent, true>;
      expect(Object.keys(opened).sort()).toEqual(Object.keys(required).sort());
      await sender.event(started);
      await sender.event(opened);
      expect(received.map((b) => (JSON.parse(b) as { event: { type: string } }).event.type)).toEqual(['assistant_thread_started', 'app_home_opened']);
    });
  });
});
