import Keyv from 'keyv';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackCallError, type SlackWriter } from '../../src/delivery/slack-writer.js';
import type { StreamSlots } from '../../src/delivery/stream-slots.js';
import { ThreadDelivery, type ThreadView } from '../../src/delivery/thread-delivery.js';
import { fallbackBodies } from '../../src/render/fallback.js';
import { bodyHash, type SlackBody } from '../../src/render/slack-message.js';
import { emptyHistory, ThreadRecords, type ThreadRecord } from '../../src/store/thread-records.js';
import { memoryLogger } from '../support/log-sink.js';

const ref = { team: 'T1', channel: 'C1', threadTs: '100.1' };
const said = (text: string): SlackBody => ({ markdown_text: text });
const card = (text: string): SlackBody => ({
  text,
  blocks: [
    { type: 'section', text: { type: 'mrkdwn', text } },
    { type: 'actions', elements: [{ type: 'button', action_id: 'stop_session', text: { type: 'plain_text', text: 'Stop' } }] },
  ],
});
const refused = (method: string, code = 'invalid_blocks') => new SlackCallError(method, code);
const unavailable = (method: string) => new SlackCallError(method, 'ratelimited', { transient: true });

/**
 * The writer as delivery uses it: keyed posts, edits after a budget taken beforehand.
 * `failPosts` / `failEdits` are thrown by the next calls, in order; every call is written down.
 */
function fakeWriter() {
  const posts: Array<{ key: string; body: SlackBody; priority: string }> = [];
  const edits: Array<{ ts: string; body: Record<string, unknown>; budget: string }> = [];
  const acquired: unknown[] = [];
  const refunded: unknown[] = [];
  const failPosts: Error[] = [];
  const failEdits: Error[] = [];
  const postWaiters: Array<{ count: number; resolve: () => void }> = [];
  let onAcquire: () => void = () => undefined;
  let ts = 200;
  const writer = {
    async postOnce(channel: string, threadTs: string, key: string, body: SlackBody, priority: string) {
      expect([channel, threadTs]).toEqual([ref.channel, ref.threadTs]);
      posts.push({ key, body, priority });
      for (const w of postWaiters.filter((w) => posts.length >= w.count)) w.resolve();
      const failure = failPosts.shift();
      if (failure) throw failure;
      return `${ts++}.1`;
    },
    async call(method: string, args: Record<string, unknown>, budget: string) {
      expect(method).toBe('chat.update');
      const { channel, ts: edited, ...body } = args as { channel: string; ts: string };
      expect(channel).toBe(ref.channel);
      edits.push({ ts: edited, body, budget });
      const failure = failEdits.shift();
      if (failure) throw failure;
      return { ok: true };
    },
    async acquire(lane: unknown) {
      acquired.push(lane);
      onAcquire();
    },
    scheduler: {
      refund: (lane: unknown) => void refunded.push(lane),
    },
  };
  return {
    writer: writer as unknown as SlackWriter,
    posts,
    edits,
    acquired,
    refunded,
    failPosts,
    failEdits,
    /** Resolves once `count` posts were tried in all. */
    postsTried: (count: number) => new Promise<void>((resolve) => (posts.length >= count ? resolve() : postWaiters.push({ count, resolve }))),
    whenAcquired: (f: () => void) => {
      onAcquire = f;
    },
  };
}

const opened: ThreadDelivery[] = [];
afterEach(() => {
  for (const d of opened.splice(0)) d.close();
});

async function setup(o: { posted?: ThreadRecord['posted']; statusIntervalMs?: number } = {}) {
  const records = new ThreadRecords(new Keyv());
  await records.create({
    v: 1,
    ...ref,
    owner: 'U1',
    prompt: 'do the thing',
    rootTs: ref.threadTs,
    status: 'active',
    createdAt: 0,
    sessionId: 'sesn_1',
    ...emptyHistory(),
    ...(o.posted ? { posted: o.posted } : {}),
  });
  const w = fakeWriter();
  const sink = memoryLogger('warn');
  let view: ThreadView = { threadTs: ref.threadTs, blocks: [], settled: true, recipient: { user: 'U1', team: 'T1' } };
  const delivery = new ThreadDelivery(ref, () => view, {
    writer: w.writer,
    records,
    log: sink.log,
    // Message blocks only: no text is streamed, so no stream slot is asked for.
    streams: {} as StreamSlots,
    retryDelayMs: 0,
    ...(o.statusIntervalMs !== undefined ? { statusIntervalMs: o.statusIntervalMs } : {}),
  });
  opened.push(delivery);
  const show = (v: Partial<ThreadView>) => {
    view = { ...view, ...v };
    delivery.request();
  };
  const posted = async () => (await records.get(ref))!.posted;
  return { delivery, records, w, sink, show, posted };
}

describe('ThreadDelivery: posting the thread’s messages', () => {
  it('posts a message once under its key and lane, records it and indexes it; a second pass posts nothing', async () => {
    const s = await setup();
    s.show({
      blocks: [
        { kind: 'message', key: 'tools:1', body: said('ran make') },
        { kind: 'message', key: 'usage:1', body: said('12 tokens'), priority: 'status' },
      ],
    });
    await s.delivery.settled();
    expect(s.w.posts).toEqual([
      { key: 'tools:1', body: said('ran make'), priority: 'content' },
      { key: 'usage:1', body: said('12 tokens'), priority: 'status' },
    ]);
    expect(await s.posted()).toMatchObject({
      'tools:1': { ts: '200.1', hash: bodyHash(said('ran make')) },
      'usage:1': { ts: '201.1', hash: bodyHash(said('12 tokens')) },
    });
    expect(await s.records.threadOfMessage('T1', 'C1', '201.1')).toEqual(ref);
    s.delivery.request();
    await s.delivery.settled();
    expect(s.w.posts).toHaveLength(2);
  });

  it('Slack unavailable: nothing is recorded, the messages behind wait, and the post is tried again', async () => {
    const s = await setup();
    s.w.failPosts.push(unavailable('chat.postMessage'));
    s.show({
      blocks: [
        { kind: 'message', key: 'a', body: said('first') },
        { kind: 'message', key: 'b', body: said('second') },
      ],
    });
    await s.delivery.settled();
    expect(s.w.posts.map((p) => p.key)).toEqual(['a']);
    expect((await s.posted()).a).toBeUndefined();
    expect(s.delivery.idle).toBe(false);
    await s.w.postsTried(3);
    await s.delivery.settled();
    expect(s.w.posts.map((p) => p.key)).toEqual(['a', 'a', 'b']);
    expect(Object.keys(await s.posted())).toEqual(expect.arrayContaining(['a', 'b']));
    expect(s.sink.lines().map((l) => l.msg)).toContain('slack unavailable; will deliver later');
  });

  it('content Slack refuses: the plainer version with the same buttons stands in under the same key', async () => {
    const s = await setup();
    s.w.failPosts.push(refused('chat.postMessage'));
    const body = card('a card Slack refuses');
    s.show({ blocks: [{ kind: 'message', key: 'approval:1', body }] });
    await s.delivery.settled();
    const [plain] = fallbackBodies(body);
    expect(s.w.posts).toEqual([
      { key: 'approval:1', body, priority: 'content' },
      { key: 'approval:1', body: plain, priority: 'content' },
    ]);
    // Recorded with the wanted body's hash, so the status pass does not try to edit it back.
    expect((await s.posted())['approval:1']).toEqual({ ts: '200.1', hash: bodyHash(body) });
    expect(s.sink.lines().find((l) => l.msg === 'slack refused a thread message')).toMatchObject({ key: 'approval:1', shown: 'plain_with_buttons' });
  });

  it('refused in every version: recorded as not shown, and the messages behind it still go out', async () => {
    const s = await setup();
    s.w.failPosts.push(refused('chat.postMessage', 'channel_not_found'));
    s.show({
      blocks: [
        { kind: 'message', key: 'a', body: said('nowhere to go') },
        { kind: 'message', key: 'b', body: said('next') },
      ],
    });
    await s.delivery.settled();
    // Not a refusal of the content: no plainer version is tried.
    expect(s.w.posts.map((p) => p.key)).toEqual(['a', 'b']);
    expect((await s.posted()).a).toEqual({ ts: '', hash: bodyHash(said('nowhere to go')) });
    expect((await s.posted()).b?.ts).toBe('200.1');
    expect(s.sink.lines().find((l) => l.msg === 'slack refused a thread message')).toMatchObject({ key: 'a', shown: 'nothing' });
  });
});

describe('ThreadDelivery: status edits', () => {
  const root = card('Running');

  it('a posted message whose body changed is edited on a budget taken first, and the new body recorded', async () => {
    const s = await setup({
      posted: { root: { ts: '100.1', hash: bodyHash(root) }, 'tools:1': { ts: '150.1', hash: bodyHash(said('running make')) } },
    });
    const done = card('Done');
    s.show({ root: { ts: '100.1', body: done }, blocks: [{ kind: 'message', key: 'tools:1', body: said('ran make') }] });
    await s.delivery.settled();
    expect(s.w.posts).toEqual([]);
    const lane = { method: 'chat.update', team: 'workspace', channel: 'C1', priority: 'status' };
    expect(s.w.acquired).toEqual([lane, lane]);
    expect(s.w.edits).toEqual([
      { ts: '150.1', body: said('ran make'), budget: 'preacquired' },
      { ts: '100.1', body: done, budget: 'preacquired' },
    ]);
    expect(await s.posted()).toMatchObject({
      root: { ts: '100.1', hash: bodyHash(done) },
      'tools:1': { ts: '150.1', hash: bodyHash(said('ran make')) },
    });
  });

  it('a markdown body replacing blocks clears them, and blocks replacing markdown are sent whole', async () => {
    const s = await setup({ posted: { a: { ts: '150.1', hash: 'old' }, b: { ts: '151.1', hash: 'old' } } });
    s.show({
      blocks: [
        { kind: 'message', key: 'a', body: { text: 'plain' } },
        { kind: 'message', key: 'b', body: said('words') },
      ],
    });
    await s.delivery.settled();
    expect(s.w.edits.map((e) => e.body)).toEqual([{ text: 'plain', blocks: [] }, said('words')]);
  });

  it('while the session runs, edits keep the status interval; once it settles they go at once', async () => {
    const s = await setup({ posted: { root: { ts: '100.1', hash: bodyHash(root) } }, statusIntervalMs: 60 * 60_000 });
    s.delivery.deferStatus();
    s.show({ settled: false, root: { ts: '100.1', body: card('Running: step 2') } });
    await s.delivery.settled();
    expect(s.w.edits).toEqual([]);
    expect(s.delivery.idle).toBe(false);
    s.show({ settled: true, root: { ts: '100.1', body: card('Done') } });
    await s.delivery.settled();
    expect(s.w.edits.map((e) => e.body)).toEqual([card('Done')]);
  });

  it('an edit made needless while it waited for budget gives the budget back and sends nothing', async () => {
    const s = await setup({ posted: { root: { ts: '100.1', hash: bodyHash(root) } } });
    s.w.whenAcquired(() => {
      // The state moved back while the edit waited: the card already shows it.
      s.show({ root: { ts: '100.1', body: root } });
    });
    s.show({ root: { ts: '100.1', body: card('Waiting') } });
    await s.delivery.settled();
    expect(s.w.refunded).toEqual([{ method: 'chat.update', team: 'workspace', channel: 'C1' }]);
    expect(s.w.edits).toEqual([]);
  });

  it('an edit Slack refuses shows the plainer version and records the wanted body; one Slack cannot take now is tried again', async () => {
    const s = await setup({ posted: { root: { ts: '100.1', hash: bodyHash(root) } } });
    const done = card('Done');
    s.w.failEdits.push(refused('chat.update'));
    s.show({ root: { ts: '100.1', body: done } });
    await s.delivery.settled();
    expect(s.w.edits.map((e) => [e.body, e.budget])).toEqual([
      [done, 'preacquired'],
      [fallbackBodies(done)[0], 'status'],
    ]);
    expect((await s.posted()).root).toEqual({ ts: '100.1', hash: bodyHash(done) });

    s.w.failEdits.push(unavailable('chat.update'));
    const later = card('Done, later');
    s.show({ root: { ts: '100.1', body: later } });
    await s.delivery.settled();
    expect((await s.posted()).root?.hash).toBe(bodyHash(done));
    expect(s.delivery.idle).toBe(false);
  });
});
