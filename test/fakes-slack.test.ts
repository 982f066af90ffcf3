import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, SocketModeReceiver, verifySlackRequest } from '@slack/bolt';
import { ErrorCode, WebClient, type WebAPIHTTPError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SlackSender, SocketSender, blockAction, humanReply, reactionAdded, startFakeSlack, type FakeSlack } from './fakes/slack/index.js';
import { DEFAULT_RATE_LIMITS } from './fakes/slack/rate-limit.js';
import { SLACK_BUDGETS } from '../src/delivery/rate-budget.js';
import { SOCKET_EVENT_RETRIES } from './fakes/slack/socket.js';

const TOKEN = 'xoxb-test';

let fake: FakeSlack;
let client: WebClient;

function webClient(token = TOKEN): WebClient {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
  });
}

/** The Slack error code of a rejected Web API call. */
async function slackError(p: Promise<unknown>): Promise<string> {
  const err = (await p.then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  )) as { code?: string; data?: { error?: string } };
  expect(err.code).toBe(ErrorCode.PlatformError);
  return err.data?.error ?? '';
}

beforeEach(async () => {
  fake = await startFakeSlack();
  client = webClient();
});
afterEach(async () => {
  await fake.close();
});

describe('fake Slack Web API (real WebClient)', () => {
  it('answers auth.test with the bot identity', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, team_id: 'T1', user_id: 'U_BOT', bot_id: 'B_BOT' });
  });

  it('posts, updates and returns threads, with metadata only when asked', async () => {
    const metadata = { event_type: 'agent_session', event_payload: { session: 's1' } };
    const root = await client.chat.postMessage({ channel: 'C1', text: 'root', metadata });
    expect(root.message).toMatchObject({ user: 'U_BOT', bot_id: 'B_BOT', text: 'root', ts: root.ts });
    const reply = await client.chat.postMessage({
      channel: 'C1',
      thread_ts: root.ts!,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
      text: 'hi',
    });
    fake.addHumanMessage('C1', { user: 'U1', text: 'steer', thread_ts: root.ts! });
    await client.chat.update({ channel: 'C1', ts: root.ts!, text: 'root v2' });

    expect(root.ts! < reply.ts!).toBe(true);
    expect(root.ts).toMatch(/^\d{10}\.\d{6}$/);
    const [storedRoot] = fake.messages('C1');
    expect(storedRoot).toMatchObject({ text: 'root v2', updatedCount: 1, metadata });

    const plain = await client.conversations.replies({ channel: 'C1', ts: reply.ts! });
    expect(plain.messages?.map((m) => m.text)).toEqual(['root v2', 'hi', 'steer']);
    expect(plain.messages?.[0]).toMatchObject({ thread_ts: root.ts, reply_count: 2 });
    expect(plain.messages?.[0]).not.toHaveProperty('metadata');
    expect(plain).toMatchObject({ has_more: false, response_metadata: { next_cursor: '' } });

    const withMeta = await client.conversations.replies({ channel: 'C1', ts: root.ts!, include_all_metadata: true });
    expect(withMeta.messages?.[0]?.metadata).toEqual(metadata);

    const page1 = await client.conversations.replies({ channel: 'C1', ts: root.ts!, limit: 2 });
    expect(page1.has_more).toBe(true);
    const page2 = await client.conversations.replies({
      channel: 'C1',
      ts: root.ts!,
      limit: 2,
      cursor: page1.response_metadata!.next_cursor!,
    });
    expect(page2.messages?.map((m) => m.text)).toEqual(['steer']);
    expect(fake.callsTo('conversations.replies')[0]?.args).toMatchObject({ channel: 'C1', ts: reply.ts });
  });

  it('enforces chat.postMessage content rules', async () => {
    const md = await client.chat.postMessage({ channel: 'C1', markdown_text: '**bold**' });
    expect(fake.messages('C1')[0]).toMatchObject({ ts: md.ts, markdown_text: '**bold**' });

    const mixed = { channel: 'C1', markdown_text: 'x', text: 'x' };
    expect(await slackError(client.chat.postMessage(mixed))).toBe('invalid_arguments');
    expect(await slackError(client.chat.postMessage({ channel: 'C1', markdown_text: 'x'.repeat(12_001) }))).toBe('msg_too_long');
    expect(await slackError(client.chat.postMessage({ channel: 'C1', text: '' }))).toBe('no_text');
    const blocks = Array.from({ length: 51 }, () => ({ type: 'divider' as const }));
    expect(await slackError(client.chat.postMessage({ channel: 'C1', blocks, text: 'x' }))).toBe('invalid_blocks');
    expect(await slackError(client.chat.postMessage({ channel: 'C1', text: 'x', thread_ts: '1.000001' }))).toBe('thread_not_found');
    expect(fake.messages('C1')).toHaveLength(1);
  });

  it('surfaces an injected 429 as a rate-limited error with retryAfter', async () => {
    fake.failNext('chat.update', { retryAfter: 7 });
    const err = (await client.chat.update({ channel: 'C1', ts: '1.1', text: 'x' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(7);
    expect(fake.rateLimited.map((c) => c.method)).toEqual(['chat.update']);
  });

  it('rate-limits postMessage per channel when enforcing, refilling with the clock', async () => {
    await fake.close();
    let now = 1_000_000;
    fake = await startFakeSlack({ enforceRateLimits: true, now: () => now });
    client = webClient();
    for (let i = 0; i < 4; i += 1) await client.chat.postMessage({ channel: 'C1', text: `burst ${i}` });
    await client.chat.postMessage({ channel: 'C2', text: 'other channel has its own bucket' });
    const err = (await client.chat.postMessage({ channel: 'C1', text: 'too fast' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.retryAfter).toBe(1);
    now += 1_000;
    await client.chat.postMessage({ channel: 'C1', text: 'after refill' });
    expect(fake.rateLimited).toHaveLength(1);
  });

  it('limits postMessage per workspace too: many channels within their own budgets still run out', async () => {
    await fake.close();
    let now = 1_000_000;
    fake = await startFakeSlack({ enforceRateLimits: true, now: () => now });
    client = webClient();
    const workspace = DEFAULT_RATE_LIMITS['chat.postMessage']!.workspace!;
    // One post in each of `burst` channels: every channel is far inside its own ~1/s.
    for (let i = 0; i < workspace.burst; i += 1) await client.chat.postMessage({ channel: `CW${i}`, text: `post ${i}` });
    const err = (await client.chat.postMessage({ channel: 'CW-fresh', text: 'one too many' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBeGreaterThanOrEqual(1);
    // The refused call took nothing from its channel: after one workspace token's time it goes.
    now += Math.ceil(60_000 / workspace.perMinute);
    await client.chat.postMessage({ channel: 'CW-fresh', text: 'after refill' });
    expect(fake.rateLimited.map((c) => c.args.channel)).toEqual(['CW-fresh']);
    expect(fake.messages('CW-fresh').map((m) => m.text)).toEqual(['after refill']);
  });

  it('rate-limits the agent surfaces by their channel_id where Slack limits per channel, per workspace otherwise', async () => {
    await fake.close();
    let now = 1_000_000;
    fake = await startFakeSlack({ enforceRateLimits: true, now: () => now });
    client = webClient();
    const perChannel = DEFAULT_RATE_LIMITS['assistant.threads.setStatus']!;
    for (let i = 0; i < perChannel.burst; i += 1) await client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: '1.1', status: `s${i}` });
    // Another channel has its own bucket.
    await client.assistant.threads.setStatus({ channel_id: 'C2', thread_ts: '1.1', status: 'other channel' });
    const err = (await client.assistant.threads
      .setStatus({ channel_id: 'C1', thread_ts: '1.1', status: 'too fast' })
      .catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    now += Math.ceil(60_000 / perChannel.perMinute);
    await client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: '1.1', status: 'after refill' });
    expect(fake.rateLimited.map((c) => c.args.channel_id)).toEqual(['C1']);
    // Every agent surface the bot keeps a budget for is limited in the fake too.
    for (const method of Object.keys(SLACK_BUDGETS).filter((m) => /^(agents\.|assistant\.|views\.publish)/.test(m)))
      expect(DEFAULT_RATE_LIMITS[method], method).toBeDefined();
  });

  it('failNext afterApply: the message lands but the call answers 500', async () => {
    fake.failNext('chat.postMessage', { status: 500, afterApply: true });
    const err = (await client.chat.postMessage({ channel: 'C1', text: 'landed' }).catch((e: unknown) => e)) as WebAPIHTTPError;
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(err.statusCode).toBe(500);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['landed']);
    await client.chat.postMessage({ channel: 'C1', text: 'next is fine' });
  });

  it('drop: the connection dies with or without the write applied', async () => {
    fake.failNext('chat.postMessage', { drop: true });
    const lost = (await client.chat.postMessage({ channel: 'C1', text: 'never' }).catch((e: unknown) => e)) as { code?: string };
    expect(lost.code).toBe(ErrorCode.RequestError);
    fake.failNext('chat.postMessage', { drop: true, afterApply: true });
    const landed = (await client.chat.postMessage({ channel: 'C1', text: 'landed' }).catch((e: unknown) => e)) as { code?: string };
    expect(landed.code).toBe(ErrorCode.RequestError);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['landed']);
    expect(fake.callsTo('chat.postMessage').map((c) => c.status)).toEqual([0, 0]);
  });

  it('faults: a function picks failures per call; onApplied runs after the write, before the answer', async () => {
    const seen: string[] = [];
    fake.faults = ({ method, args }) => (method === 'chat.postMessage' && args.text === 'refused' ? { status: 503 } : undefined);
    fake.onApplied = (method, n) => {
      seen.push(`${method}#${n}:${fake.messages('C1').length}`);
    };
    const err = (await client.chat.postMessage({ channel: 'C1', text: 'refused' }).catch((e: unknown) => e)) as WebAPIHTTPError;
    expect(err.statusCode).toBe(503);
    const first = await client.chat.postMessage({ channel: 'C1', text: 'one' });
    await client.chat.update({ channel: 'C1', ts: first.ts!, text: 'one, edited' });
    await client.chat.postMessage({ channel: 'C1', text: 'two' });
    expect(seen).toEqual(['chat.postMessage#1:1', 'chat.update#1:1', 'chat.postMessage#2:2']);
  });

  it('conversations.history: top-level messages newest first, metadata only when asked, paged', async () => {
    const a = await client.chat.postMessage({ channel: 'C1', text: 'a', metadata: { event_type: 'k', event_payload: { key: 'a' } } });
    await client.chat.postMessage({ channel: 'C1', thread_ts: a.ts!, text: 'reply, not listed' });
    const b = await client.chat.postMessage({ channel: 'C1', text: 'b' });
    const c = await client.chat.postMessage({ channel: 'C1', text: 'c' });
    const all = await client.conversations.history({ channel: 'C1' });
    expect(all.messages?.map((m) => m.text)).toEqual(['c', 'b', 'a']);
    expect(all.messages?.[2]?.metadata).toBeUndefined();
    const meta = await client.conversations.history({ channel: 'C1', include_all_metadata: true, oldest: b.ts! });
    expect(meta.messages?.map((m) => m.text)).toEqual(['c']);
    const withA = await client.conversations.history({ channel: 'C1', include_all_metadata: true, oldest: a.ts!, inclusive: true, latest: b.ts! });
    expect(withA.messages?.map((m) => [m.text, m.metadata?.event_payload])).toEqual([
      ['b', undefined],
      ['a', { key: 'a' }],
    ]);
    const page1 = await client.conversations.history({ channel: 'C1', limit: 2 });
    expect(page1.has_more).toBe(true);
    const page2 = await client.conversations.history({ channel: 'C1', limit: 2, cursor: page1.response_metadata!.next_cursor! });
    expect([...page1.messages!, ...page2.messages!].map((m) => m.ts)).toEqual([c.ts, b.ts, a.ts]);
  });

  it('failNext error answers ok:false for `times` calls', async () => {
    fake.failNext('reactions.add', { error: 'internal_error', times: 2 });
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'x' });
    const add = () => client.reactions.add({ channel: 'C1', timestamp: ts!, name: 'eyes' });
    expect(await slackError(add())).toBe('internal_error');
    expect(await slackError(add())).toBe('internal_error');
    await add();
  });

  it('failNext match: only a call whose arguments match fails; the others pass', async () => {
    fake.failNext('chat.postMessage', { error: 'invalid_blocks', match: (a) => JSON.stringify(a.blocks ?? []).includes('approve') });
    await client.chat.postMessage({ channel: 'C1', text: 'plain' });
    const card = {
      channel: 'C1',
      text: 'card',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' } }] }],
    };
    expect(await slackError(client.chat.postMessage(card))).toBe('invalid_blocks');
    await client.chat.postMessage(card);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['plain', 'card']);
  });

  it('failNext hold: the call waits until the test releases it', async () => {
    let release!: () => void;
    fake.failNext('chat.postMessage', { hold: new Promise<void>((r) => (release = r)) });
    const held = client.chat.postMessage({ channel: 'C1', text: 'held' });
    await client.auth.test();
    expect(fake.messages('C1')).toEqual([]);
    release();
    await held;
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['held']);
  });

  it('expires streams after their lifetime', async () => {
    await fake.close();
    let now = 0;
    fake = await startFakeSlack({ now: () => now });
    client = webClient();
    const root = await client.chat.postMessage({ channel: 'C1', text: 'root' });
    const args = { channel: 'C1', thread_ts: root.ts!, recipient_team_id: 'T1', recipient_user_id: 'U1' };
    const missing = { channel: 'C1', thread_ts: root.ts!, markdown_text: 'x' };
    expect(await slackError(client.chat.startStream(missing))).toBe('missing_recipient_user_id');
    const { ts } = await client.chat.startStream({ ...args, markdown_text: 'a' });
    now += 301_000;
    expect(await slackError(client.chat.appendStream({ channel: 'C1', ts: ts!, markdown_text: 'b' }))).toBe('message_not_in_streaming_state');
  });

  it('answers not_in_channel until the bot joins', async () => {
    fake.setMember('C2', false);
    expect(await slackError(client.chat.postMessage({ channel: 'C2', text: 'x' }))).toBe('not_in_channel');
    const joined = await client.conversations.join({ channel: 'C2' });
    expect(joined.channel?.is_member).toBe(true);
    await client.chat.postMessage({ channel: 'C2', text: 'x' });
  });

  it('checks the token', async () => {
    expect(await slackError(webClient('xoxb-wrong').auth.test())).toBe('invalid_auth');
    expect(await slackError(webClient('').auth.test())).toBe('not_authed');
  });

  it('tracks reactions per user', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'x' });
    await client.reactions.add({ channel: 'C1', timestamp: ts!, name: 'eyes' });
    expect(await slackError(client.reactions.add({ channel: 'C1', timestamp: ts!, name: 'eyes' }))).toBe('already_reacted');
    expect(fake.messages('C1')[0]?.reactions).toEqual([{ name: 'eyes', users: ['U_BOT'] }]);
    await client.reactions.remove({ channel: 'C1', timestamp: ts!, name: 'eyes' });
    expect(await slackError(client.reactions.remove({ channel: 'C1', timestamp: ts!, name: 'eyes' }))).toBe('no_reaction');
  });

  it('records a person’s reaction beside the bot’s (reactions.get counts both) and tells onChange listeners', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'x' });
    let changes = 0;
    const off = fake.onChange(() => {
      changes += 1;
    });
    fake.addReaction('C1', ts!, 'octagonal_sign', 'U1');
    // The same person's same reaction again is no change (Slack keeps one per person).
    fake.addReaction('C1', ts!, 'octagonal_sign', 'U1');
    expect(changes).toBe(1);
    off();
    await client.reactions.add({ channel: 'C1', timestamp: ts!, name: 'octagonal_sign' });
    expect(changes).toBe(1);
    const got = await client.reactions.get({ channel: 'C1', timestamp: ts! });
    expect(got.message?.reactions).toEqual([{ name: 'octagonal_sign', users: ['U1', 'U_BOT'], count: 2 }]);
    expect(() => fake.addReaction('C1', '1.000001', 'eyes', 'U1')).toThrow(/no message/);
  });

  it('uploads a file into a thread with files.uploadV2', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'root' });
    const res = await client.files.uploadV2({
      channel_id: 'C1',
      thread_ts: root.ts!,
      filename: 'transcript.md',
      content: '# full transcript',
      initial_comment: 'Full transcript',
    });
    expect(res.ok).toBe(true);
    const [upload] = [...fake.uploads.values()];
    expect(upload?.content?.toString()).toBe('# full transcript');
    const [, fileMsg] = fake.thread('C1', root.ts!);
    expect(fileMsg).toMatchObject({ text: 'Full transcript', thread_ts: root.ts, files: [{ name: 'transcript.md' }] });
  });

  it('streams with chatStream and refuses appends after stop', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'root' });
    await client.assistant.threads.setStatus({ channel_id: 'C1', thread_ts: root.ts!, status: 'is thinking…' });
    expect(fake.statusOf('C1', root.ts!)).toBe('is thinking…');
    const streamer = client.chatStream({
      channel: 'C1',
      thread_ts: root.ts!,
      recipient_team_id: 'T1',
      recipient_user_id: 'U1',
      buffer_size: 1,
    });
    await streamer.append({ markdown_text: 'Hello ' });
    await streamer.append({ markdown_text: 'world' });
    await streamer.stop({ markdown_text: '!' });
    const [, streamed] = fake.thread('C1', root.ts!);
    expect(streamed).toMatchObject({ text: 'Hello world!', stream: { state: 'stopped' } });
    expect(fake.statusOf('C1', root.ts!)).toBeUndefined();
    expect(await slackError(client.chat.appendStream({ channel: 'C1', ts: streamed!.ts, markdown_text: 'late' }))).toBe(
      'message_not_in_streaming_state',
    );
  });

  it('users.info says who is a guest (is_restricted / is_ultra_restricted), and user_not_found for a stranger', async () => {
    fake.users.set('UMEMBER', { id: 'UMEMBER', name: 'member', real_name: 'Member' });
    fake.users.set('UGUEST', { id: 'UGUEST', name: 'guest', real_name: 'Guest', is_restricted: true });
    fake.users.set('USINGLE', { id: 'USINGLE', name: 'single', real_name: 'Single', is_ultra_restricted: true });
    const flags = async (user: string) => {
      const u = (await client.users.info({ user })).user!;
      return [u.id, u.is_restricted, u.is_ultra_restricted, u.is_bot];
    };
    expect(await flags('UMEMBER')).toEqual(['UMEMBER', false, false, false]);
    expect(await flags('UGUEST')).toEqual(['UGUEST', true, false, false]);
    // Slack marks a single-channel guest as restricted too.
    expect(await flags('USINGLE')).toEqual(['USINGLE', true, true, false]);
    expect(await slackError(client.users.info({ user: 'UNOBODY' }))).toBe('user_not_found');
  });

  it('waitFor resolves on the next matching change and explains a timeout', async () => {
    const posted = fake.waitFor(() => fake.messages('C1').find((m) => m.text === 'later'));
    await client.chat.postMessage({ channel: 'C1', text: 'sooner' });
    await client.chat.postMessage({ channel: 'C1', text: 'later' });
    expect((await posted).text).toBe('later');
    await expect(fake.waitFor(() => fake.callsTo('chat.delete').length > 0, 20)).rejects.toThrow(
      /timed out after 20 ms[\s\S]*chat.postMessage → 200 ok/,
    );
  });
});

describe('fake Slack Block Kit limits (real WebClient)', () => {
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const button = (b: Record<string, unknown>) => ({
    type: 'actions',
    elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'ok' }, ...b }],
  });
  const refused = async (blocks: unknown[], method: 'postMessage' | 'update' | 'postEphemeral' = 'postMessage') => {
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'base' });
    const args = { channel: 'C1', text: 'fallback', blocks } as never;
    if (method === 'update') return slackError(client.chat.update({ ...(args as object), ts: ts! } as never));
    if (method === 'postEphemeral') return slackError(client.chat.postEphemeral({ ...(args as object), user: 'U1' } as never));
    return slackError(client.chat.postMessage(args));
  };
  const accepted = (blocks: unknown[]) => client.chat.postMessage({ channel: 'C1', text: 'fallback', blocks } as never);

  it('takes every limit up to its documented size and refuses one character more', async () => {
    const cases: Array<[string, (n: number) => unknown[], number]> = [
      ['section text', (n) => [section('x'.repeat(n))], 3000],
      ['section field', (n) => [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'x'.repeat(n) }] }], 2000],
      ['context element', (n) => [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'x'.repeat(n) }] }], 3000],
      ['header', (n) => [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(n) } }], 150],
      ['button text', (n) => [button({ text: { type: 'plain_text', text: 'x'.repeat(n) } })], 75],
      ['button value', (n) => [button({ value: 'x'.repeat(n) })], 2000],
      ['action_id', (n) => [button({ action_id: 'x'.repeat(n) })], 255],
      ['block_id', (n) => [{ ...section('x'), block_id: 'x'.repeat(n) }], 255],
      ['accessibility_label', (n) => [button({ accessibility_label: 'x'.repeat(n) })], 75],
      ['blocks per message', (n) => Array.from({ length: n }, () => ({ type: 'divider' })), 50],
      ['context elements', (n) => [{ type: 'context', elements: Array.from({ length: n }, () => ({ type: 'mrkdwn', text: 'x' })) }], 10],
      [
        'actions elements',
        (n) => [
          {
            type: 'actions',
            elements: Array.from({ length: n }, (_, i) => ({ type: 'button', action_id: `a${i}`, text: { type: 'plain_text', text: 'x' } })),
          },
        ],
        25,
      ],
    ];
    for (const [what, make, limit] of cases) {
      await expect(accepted(make(limit)), what).resolves.toMatchObject({ ok: true });
      expect(await refused(make(limit + 1)), what).toBe('invalid_blocks');
    }
  });

  it('counts escaped mrkdwn as sent and an emoji as two, and refuses empty, mistyped and duplicate parts', async () => {
    expect(await refused([section('&amp;'.repeat(601))])).toBe('invalid_blocks');
    expect(await refused([section('😀'.repeat(1501))])).toBe('invalid_blocks');
    await accepted([section('😀'.repeat(1500))]);
    expect(await refused([section('')])).toBe('invalid_blocks');
    expect(await refused([button({ text: { type: 'mrkdwn', text: 'bold' } })])).toBe('invalid_blocks');
    expect(await refused([button({ style: 'loud' })])).toBe('invalid_blocks');
    expect(await refused([{ type: 'no_such_block' }])).toBe('invalid_blocks');
    expect(
      await refused([
        { ...section('a'), block_id: 'b' },
        { ...section('b'), block_id: 'b' },
      ]),
    ).toBe('invalid_blocks');
    const twice = { type: 'button', action_id: 'same', text: { type: 'plain_text', text: 'x' } };
    expect(await refused([{ type: 'actions', elements: [twice, twice] }])).toBe('invalid_blocks');
    expect(
      await refused([
        { type: 'markdown', text: 'x'.repeat(6001) },
        { type: 'markdown', text: 'x'.repeat(6000) },
      ]),
    ).toBe('invalid_blocks');
    // Every block within its own limit, too much text in all: Slack's undocumented total.
    expect(await refused(Array.from({ length: 5 }, () => section('x'.repeat(2500))))).toBe('msg_blocks_too_long');
    const err = (await client.chat
      .postMessage({ channel: 'C1', text: 'x', blocks: [section('x'.repeat(3001))] } as never)
      .catch((e: unknown) => e)) as {
      data?: { response_metadata?: { messages?: string[] } };
    };
    expect(err.data?.response_metadata?.messages).toEqual(['[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);
  });

  it('checks chat.update and chat.postEphemeral as it checks chat.postMessage, and message text sizes', async () => {
    expect(await refused([section('x'.repeat(3001))], 'update')).toBe('invalid_blocks');
    expect(await refused([section('x'.repeat(3001))], 'postEphemeral')).toBe('invalid_blocks');
    expect(await slackError(client.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_001) }))).toBe('msg_too_long');
    await client.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_000) });
  });

  it('checks a modal’s title, buttons, label and input length in views.open', async () => {
    const view = (patch: Record<string, unknown> = {}, input: Record<string, unknown> = {}) => ({
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: 'Deny tool call' },
      submit: { type: 'plain_text' as const, text: 'Deny' },
      blocks: [
        {
          type: 'input',
          block_id: 'r',
          label: { type: 'plain_text', text: 'Why?' },
          element: { type: 'plain_text_input', action_id: 'i', max_length: 1000 },
          ...input,
        },
      ],
      ...patch,
    });
    const open = (v: unknown) => client.views.open({ trigger_id: fake.mintTrigger('U1'), view: v as never });
    await expect(open(view())).resolves.toMatchObject({ ok: true });
    expect(await slackError(open(view({ title: { type: 'plain_text', text: 'x'.repeat(25) } })))).toBe('invalid_arguments');
    expect(await slackError(open(view({ submit: { type: 'plain_text', text: 'x'.repeat(25) } })))).toBe('invalid_arguments');
    expect(await slackError(open(view({}, { label: { type: 'plain_text', text: 'x'.repeat(2001) } })))).toBe('invalid_arguments');
    expect(await slackError(open(view({}, { element: { type: 'plain_text_input', action_id: 'i', max_length: 3001 } })))).toBe('invalid_arguments');
    await expect(open(view({}, { label: { type: 'plain_text', text: 'x'.repeat(2000) } }))).resolves.toMatchObject({ ok: true });
  });
});

describe('SlackSender', () => {
  const SECRET = 'shh';
  let server: Server;
  let received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  let sender: SlackSender;

  beforeEach(async () => {
    received = [];
    // Verifies with Bolt's own verifySlackRequest (v0 HMAC over the exact bytes, at most
    // 5 minutes old), not with the fake's signer: a sender that signs wrongly gets 401.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const headers = {
          'x-slack-signature': String(req.headers['x-slack-signature'] ?? ''),
          'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
        };
        let ok = true;
        try {
          verifySlackRequest({ signingSecret: SECRET, body, headers });
        } catch {
          ok = false;
        }
        received.push({ headers: req.headers, body });
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    sender = new SlackSender({ url, signingSecret: SECRET, fake });
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('signs a slash command as exact form-urlencoded with a working response_url', async () => {
    const res = await sender.command({ text: 'fix the build', user: 'U1', channel: 'C1' });
    expect(res).toMatchObject({ status: 200, json: { ok: true } });
    const req = received[0]!;
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(req.body);
    expect(Object.fromEntries(form)).toMatchObject({ command: '/agent', text: 'fix the build', user_id: 'U1', team_id: 'T1' });

    const post = await fetch(form.get('response_url')!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Usage', response_type: 'ephemeral' }),
    });
    expect(post.status).toBe(200);
    expect(fake.responseUrlPosts).toEqual([{ url: form.get('response_url'), body: { text: 'Usage', response_type: 'ephemeral' } }]);
  });

  it('wraps events, records human replies in the fake, and adds retry headers', async () => {
    const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
    const event = humanReply({ channel: 'C1', thread_ts: root.ts!, user: 'U1', text: 'also check lint' });
    const first = await sender.event(event);
    const again = await sender.event(event, { eventId: first.eventId!, retryNum: 1, retryReason: 'http_timeout' });
    expect([first.status, again.status]).toEqual([200, 200]);

    const envelope = JSON.parse(received[1]!.body) as { authorizations: unknown[] };
    expect(envelope).toMatchObject({ type: 'event_callback', event_id: first.eventId, team_id: 'T1' });
    expect(envelope.authorizations[0]).toMatchObject({ user_id: 'U_BOT', team_id: 'T1' });
    expect(received[1]!.headers).toMatchObject({ 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    expect(fake.thread('C1', root.ts!).map((m) => m.text)).toEqual(['card', 'also check lint']);

    const replies = await client.conversations.replies({ channel: 'C1', ts: event.ts as string });
    expect(replies.messages?.map((m) => m.user)).toEqual(['U_BOT', 'U1']);

    await sender.event(reactionAdded({ user: 'U1', reaction: 'octagonal_sign', channel: 'C1', ts: root.ts! }));
    expect(JSON.parse(received[2]!.body).event).not.toHaveProperty('thread_ts');
  });

  it('sends block_actions as payload= with the stored message filled in', async () => {
    const blocks = [
      {
        type: 'actions',
        block_id: 'actions',
        elements: [{ type: 'button', action_id: 'stop', text: { type: 'plain_text', text: 'Stop' }, value: 's1' }],
      },
    ];
    const card = await client.chat.postMessage({ channel: 'C1', text: 'card', blocks });
    const sent = await sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts!, actionId: 'stop', value: 's1' }));
    expect(sent.status).toBe(200);
    const req = received[0]!;
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const payload = JSON.parse(new URLSearchParams(req.body).get('payload')!) as { response_url: string };
    expect(payload).toMatchObject({
      type: 'block_actions',
      container: { type: 'message', message_ts: card.ts, channel_id: 'C1' },
      message: { ts: card.ts, text: 'card', blocks, user: 'U_BOT', bot_id: 'B_BOT' },
      actions: [{ action_id: 'stop', value: 's1' }],
    });
    expect(payload.response_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/response\//);
  });

  it('can send bad, missing and stale signatures', async () => {
    expect((await sender.raw('{}', { badSignature: true })).status).toBe(401);
    expect((await sender.raw('{}', { signature: null })).status).toBe(401);
    expect(received[1]!.headers).not.toHaveProperty('x-slack-signature');
    const stale = Math.floor(Date.now() / 1000) - 600;
    expect((await sender.raw('{}', { timestamp: stale })).status).toBe(401);
    expect(received[2]!.headers['x-slack-request-timestamp']).toBe(String(stale));
    // The same body, signed now, passes: the refusals above are the signature's and the age's.
    expect((await sender.raw('{}')).status).toBe(200);
  });
});

describe('Bolt against the fake', () => {
  it('handles a signed command and posts through the fake', async () => {
    const app = new App({
      token: TOKEN,
      signingSecret: 'bolt-secret',
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command('/agent', async ({ ack, command, say, respond }) => {
      await ack();
      const root = await say(`Working on: ${command.text}`);
      await respond({ text: 'started', response_type: 'ephemeral' });
      await app.client.chat.postMessage({ channel: command.channel_id, thread_ts: root.ts!, text: 'done' });
    });
    const server = (await app.start(0)) as Server;
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
      const sender = new SlackSender({ url, signingSecret: 'bolt-secret', fake });
      const res = await sender.command({ text: 'fix CI', channel: 'C9' });
      expect(res.status).toBe(200);
      const [root, reply] = await fake.waitFor(() => {
        const msgs = fake.messages('C9');
        return msgs.length === 2 && msgs;
      });
      expect(root?.text).toBe('Working on: fix CI');
      expect(reply?.thread_ts).toBe(root?.ts);
      expect(fake.responseUrlPosts[0]?.body).toMatchObject({ text: 'started' });
      expect((await sender.raw('{}', { badSignature: true })).status).toBe(401);
    } finally {
      await app.stop();
    }
  });
});

describe('Socket Mode against the fake', () => {
  /** A Bolt app on the real SocketModeReceiver; clientPingTimeout 600 → a ping every 200 ms, reconnect after 600 ms. */
  function socketApp(appToken = fake.appToken) {
    const receiver = new SocketModeReceiver({
      appToken,
      logLevel: LogLevel.ERROR,
      clientPingTimeout: 600,
      installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } },
    });
    const app = new App({ token: TOKEN, botId: 'B_BOT', botUserId: 'U_BOT', receiver, logLevel: LogLevel.ERROR });
    return { app, receiver };
  }

  it('apps.connections.open takes only the app token and answers a one-time ws:// URL', async () => {
    const res = await webClient(fake.appToken).apps.connections.open();
    expect(res.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\?ticket=\S+$/);
    expect(await slackError(webClient(TOKEN).apps.connections.open())).toBe('not_allowed_token_type');
    expect(await slackError(webClient('xapp-wrong').apps.connections.open())).toBe('invalid_auth');
    expect(await slackError(webClient(fake.appToken).chat.postMessage({ channel: 'C1', text: 'x' }))).toBe('not_allowed_token_type');

    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ws = new WebSocket(res.url!);
      ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
      ws.once('error', reject);
    });
    expect(hello).toMatchObject({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A_APP' } });
    expect(fake.socket.connected()).toBe(1);
    // The ticket was used: a second connection with it is refused.
    const status = await new Promise<number>((resolve) => {
      new WebSocket(res.url!).once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)).once('error', () => undefined);
    });
    expect(status).toBe(401);
  });

  it('delivers commands, events and interactions as envelopes and returns the acks', async () => {
    const { app } = socketApp();
    const seen: { command?: { response_url: string }; event?: { authorizations?: unknown[] }; action?: unknown } = {};
    app.command('/agent', async ({ ack, body }) => {
      seen.command = body;
      await ack({ response_type: 'ephemeral', text: `got ${body.text}` });
    });
    app.command('/noack', async () => undefined);
    app.event('message', async ({ body }) => {
      seen.event = body;
    });
    app.action('stop', async ({ ack, body }) => {
      seen.action = body;
      await ack();
    });
    await app.start();
    try {
      expect(fake.socket.connected()).toBe(1);
      const sender = new SocketSender({ fake });

      const cmd = await sender.command({ text: 'fix CI', user: 'U1', channel: 'C1' });
      expect(cmd.payload).toEqual({ response_type: 'ephemeral', text: 'got fix CI' });
      expect(cmd.ms).toBeLessThan(3000);
      // A JSON object with the form's fields, not form-encoded.
      expect(seen.command).toMatchObject({ command: '/agent', text: 'fix CI', user_id: 'U1', channel_id: 'C1', team_id: 'T1' });
      expect(seen.command?.response_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/response\//);

      const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
      const ev = await sender.event(humanReply({ channel: 'C1', thread_ts: root.ts!, user: 'U1', text: 'more' }));
      expect(ev.payload).toEqual({});
      expect(seen.event).toMatchObject({ type: 'event_callback', event_id: ev.eventId, event: { text: 'more' } });
      expect(seen.event?.authorizations?.[0]).toMatchObject({ user_id: 'U_BOT', team_id: 'T1' });
      expect(fake.thread('C1', root.ts!).map((m) => m.text)).toEqual(['card', 'more']);

      const act = await sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts!, actionId: 'stop', value: 's1' }));
      expect(act.payload).toEqual({});
      expect(seen.action).toMatchObject({ type: 'block_actions', actions: [{ action_id: 'stop' }], message: { text: 'card' } });

      expect(fake.socket.envelopes.map((e) => [e.type, e.accepts_response_payload, e.retry_attempt])).toEqual([
        ['slash_commands', true, undefined],
        ['events_api', false, 0],
        ['interactive', true, undefined],
      ]);
      expect(fake.socket.acks.map((a) => a.envelope_id)).toEqual(fake.socket.envelopes.map((e) => e.envelope_id));

      // Socket Mode has no local ack timer: an unacked envelope times out at the fake.
      await expect(sender.command({ text: 'x', command: '/noack' }, { timeoutMs: 300 })).rejects.toThrow(/no ack for slash_commands/);
    } finally {
      await app.stop();
    }
    await fake.waitFor(() => fake.socket.connected() === 0);
  });

  it('answers the client’s pings, and a disconnect makes the client reconnect', async () => {
    let pongs = 0;
    const onPong = () => {
      pongs += 1;
    };
    subscribe('undici:websocket:pong', onPong);
    const { app } = socketApp();
    await app.start();
    try {
      // More than 3 unanswered pings would have made the client drop the connection.
      await fake.waitFor(() => fake.socket.pings >= 5 && pongs >= 5);
      expect(fake.socket.closes).toEqual([]);

      fake.socket.disconnect('refresh_requested');
      await fake.waitFor(() => fake.socket.closes.length === 1 && fake.socket.connected() === 1);
      expect(fake.socket.closes).toEqual([{ code: 1000, reason: '' }]);
      expect(fake.callsTo('apps.connections.open')).toHaveLength(2);
      const ack = await new SocketSender({ fake }).event(reactionAdded({ user: 'U1', reaction: 'eyes', channel: 'C1', ts: '1.000001' }));
      expect(ack.payload).toEqual({});
    } finally {
      unsubscribe('undici:websocket:pong', onPong);
      await app.stop();
    }
    await fake.waitFor(() => fake.socket.connected() === 0);
  });

  it('spreads envelopes over the app’s open connections in turn, each envelope to one of them', async () => {
    const got: Array<[string, string]> = [];
    const apps = ['A', 'B'].map((name) => {
      const { app } = socketApp();
      app.command('/agent', async ({ ack }) => {
        got.push([name, 'command']);
        await ack();
      });
      app.event('reaction_added', async () => {
        got.push([name, 'event']);
      });
      app.action('stop', async ({ ack }) => {
        got.push([name, 'action']);
        await ack();
      });
      return app;
    });
    // One after the other: A's connection is the fake's first, B's its second.
    for (const app of apps) await app.start();
    try {
      expect(fake.socket.connected()).toBe(2);
      expect(fake.callsTo('apps.connections.open')).toHaveLength(2);
      const sender = new SocketSender({ fake });
      const root = await client.chat.postMessage({ channel: 'C1', text: 'card' });
      await sender.command({ text: 'one', user: 'U1', channel: 'C1' });
      await sender.event(reactionAdded({ user: 'U1', reaction: 'eyes', channel: 'C1', ts: root.ts! }));
      await sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts!, actionId: 'stop', value: 's1' }));
      await sender.event(reactionAdded({ user: 'U1', reaction: 'tada', channel: 'C1', ts: root.ts! }));
      await fake.waitFor(() => got.length === 4);
      expect(got).toEqual([
        ['A', 'command'],
        ['B', 'event'],
        ['A', 'action'],
        ['B', 'event'],
      ]);
      expect(fake.socket.deliveries.map((d) => d.connection)).toEqual([1, 2, 1, 2]);
      expect(fake.socket.acks.map((a) => a.envelope_id)).toEqual(fake.socket.envelopes.map((e) => e.envelope_id));
    } finally {
      for (const app of apps) await app.stop();
    }
    await fake.waitFor(() => fake.socket.connected() === 0);
  });

  it('an event whose connection closes before its ack is delivered again over another, as a retry; a command is not', async () => {
    /**
     * The real client with nothing behind it (no Bolt app acks for it): it closes its
     * connection when an envelope arrives, as a replica that dies mid-envelope.
     */
    const dying = () => {
      const receiver = new SocketModeReceiver({
        appToken: fake.appToken,
        logLevel: LogLevel.ERROR,
        installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } },
      });
      receiver.client.on('slack_event', () => void receiver.client.disconnect());
      return receiver.client;
    };
    const seen: Array<{ eventId: string; retryNum: number | undefined; retryReason: string | undefined }> = [];
    const commands: string[] = [];
    const { app } = socketApp();
    app.event('reaction_added', async ({ body, context }) => {
      seen.push({ eventId: body.event_id, retryNum: context.retryNum, retryReason: context.retryReason });
    });
    app.command('/agent', async ({ ack, body }) => {
      commands.push(body.text);
      await ack();
    });
    const first = dying();
    await first.start(); // the fake's first connection: the first envelope goes to it
    await app.start();
    try {
      const sender = new SocketSender({ fake });
      const ev = await sender.event(reactionAdded({ user: 'U1', reaction: 'eyes', channel: 'C1', ts: '1.000001' }));
      expect(ev.payload).toEqual({});
      // One event id, two envelopes: the first on the connection that closed, then on the other.
      expect(seen).toEqual([{ eventId: ev.eventId, retryNum: 1, retryReason: 'timeout' }]);
      expect(fake.socket.envelopes.map((e) => [e.type, e.retry_attempt, e.retry_reason, e.payload.event_id])).toEqual([
        ['events_api', 0, '', ev.eventId],
        ['events_api', 1, 'timeout', ev.eventId],
      ]);
      expect(fake.socket.deliveries.map((d) => d.connection)).toEqual([1, 2]);
      expect(fake.socket.acks.map((a) => a.envelope_id)).toEqual([fake.socket.envelopes[1]!.envelope_id]);
      expect(fake.socket.connected()).toBe(1);

      // A command Slack does not deliver twice: the person is told it failed instead.
      const second = dying();
      await second.start();
      await sender.command({ text: 'to the app', user: 'U1', channel: 'C1' }); // the app's connection's turn
      await expect(sender.command({ text: 'to the one that closes', user: 'U1', channel: 'C1' })).rejects.toThrow(
        /connection closed before envelope .* \(slash_commands\) was acked/,
      );
      expect(commands).toEqual(['to the app']);
      expect(fake.socket.envelopes.filter((e) => e.type === 'slash_commands')).toHaveLength(2);
    } finally {
      await app.stop();
    }
    await fake.waitFor(() => fake.socket.connected() === 0);
  });

  it('an event no connection acks is retried three times, then dropped', async () => {
    const { url } = await webClient(fake.appToken).apps.connections.open();
    const ws = new WebSocket(url!); // reads envelopes and never acks
    try {
      await fake.socket.waitForConnection();
      await expect(fake.socket.send('events_api', { event_id: 'Ev1' }, { timeoutMs: 50 })).rejects.toThrow(/no ack for events_api/);
      expect(fake.socket.envelopes.map((e) => [e.retry_attempt, e.retry_reason])).toEqual([
        [0, ''],
        [1, 'timeout'],
        [2, 'timeout'],
        [SOCKET_EVENT_RETRIES, 'timeout'],
      ]);
    } finally {
      ws.close();
    }
  });

  it('fails start() with invalid_auth for a wrong app token', async () => {
    const { app } = socketApp('xapp-wrong');
    await expect(app.start()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    expect(fake.socket.connected()).toBe(0);
  });

  it('rejects a send without a connection, and close() drops connections and fails pending acks', async () => {
    await expect(fake.socket.send('events_api', {})).rejects.toThrow(/no open Socket Mode connection/);
    const { url } = await webClient(fake.appToken).apps.connections.open();
    const ws = new WebSocket(url!);
    await fake.socket.waitForConnection();
    const failed = expect(fake.socket.send('interactive', { type: 'block_actions' })).rejects.toThrow(/closed before envelope/);
    const dropped = new Promise<number>((resolve) => ws.once('close', resolve));
    await fake.close();
    await failed;
    expect(await dropped).toBe(1006);
    fake = await startFakeSlack(); // for afterEach
  });
});
