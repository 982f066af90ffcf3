// What the store keeps and for how long, on both backends: ignored messages write
// nothing, dedupe keys and message indexes expire, records of sessions that stopped
// running are pruned after RECORD_RETENTION_DAYS (and a late reply is told why).
import { randomUUID } from 'node:crypto';
import type Keyv from 'keyv';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { DAY_MS, DEFAULT_RETENTION_DAYS, SEEN_TTL_MS } from '../../src/store/retention.js';
import { storeKeys, sweepExpired } from '../../src/store/store-keys.js';
import { emptyHistory, ThreadRecords, type ThreadRecord } from '../../src/store/thread-records.js';
import { botEcho, humanReply, messageChanged, messageDeleted, reactionAdded, topLevelMessage } from '../fakes/slack/index.js';
import { botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let kv: Keyv | undefined;
afterEach(async () => {
  await kv?.disconnect();
  kv = undefined;
  await h?.close();
  h = undefined;
});

const rootOf = () => h!.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');

type Backend = { name: string; overrides: Record<string, string>; redis: boolean };
const backends: Backend[] = [
  { name: 'SQLite', overrides: {}, redis: false },
  { name: 'Redis', overrides: { STORE_URL: 'redis://127.0.0.1:6379' }, redis: true },
];

async function startOn(b: Backend): Promise<Harness> {
  // A fresh namespace per test on the shared Redis.
  const namespace = b.redis ? `test-${randomUUID()}` : undefined;
  h = await startHarness(b.overrides, namespace ? { storeNamespace: namespace } : {});
  kv = await openStore(h.env.STORE_URL, namespace);
  return h;
}

async function snapshot(store: Keyv): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const key of storeKeys(store, '')) out[key] = JSON.stringify(await store.get(key, { raw: true }));
  return out;
}

async function finishedTurn(harness: Harness): Promise<string> {
  await harness.sender.command({ text: 'remember this', user: 'U1', channel: 'C1' });
  const root = await harness.slack.waitFor(() => rootOf());
  await harness.slack.waitFor(() => rootText().includes('Done'));
  await harness.bot.settled();
  return root.ts;
}

function record(o: Partial<ThreadRecord> & { threadTs: string; status: ThreadRecord['status'] }): ThreadRecord {
  return {
    v: 1,
    team: 'T1',
    channel: 'C9',
    owner: 'U1',
    prompt: 'p',
    sessionId: `sesn_${o.threadTs}`,
    createdAt: 0,
    ...emptyHistory(),
    ...o,
  };
}

describe.each(backends)('the store ($name)', (b) => {
  it('messages the bot ignores leave it unchanged; one it acts on writes a dedupe key and an index that expire', async () => {
    const harness = await startOn(b);
    const rootTs = await finishedTurn(harness);
    const before = await snapshot(kv!);
    expect(Object.keys(before).some((k) => k.startsWith('thread:'))).toBe(true);

    const reply = botReplies(harness.slack, 'C1', rootTs)[0]!;
    const stranger = topLevelMessage({ channel: 'C1', user: 'U2', text: 'lunch anyone?' });
    const ignored = [
      botEcho({ channel: 'C1', text: 'root', ts: rootTs }),
      botEcho({ channel: 'C1', text: 'reply', ts: reply.ts, thread_ts: rootTs }),
      messageChanged({ channel: 'C1', ts: reply.ts, text: 'edited', thread_ts: rootTs }),
      messageDeleted({ channel: 'C1', ts: reply.ts, thread_ts: rootTs }),
      stranger,
      humanReply({ channel: 'C1', thread_ts: String(stranger.ts), user: 'U3', text: 'me!' }),
      topLevelMessage({ channel: 'C1', user: 'U2', text: 'joined', subtype: 'channel_join' }),
      reactionAdded({ user: 'U2', reaction: 'thumbsup', channel: 'C1', ts: rootTs }),
      reactionAdded({ user: 'U2', reaction: 'octagonal_sign', channel: 'C1', ts: String(stranger.ts) }),
    ];
    for (const event of ignored) expect((await harness.sender.event(event)).status).toBe(200);
    await harness.bot.settled();
    expect(await snapshot(kv!)).toEqual(before);

    // The control: a reply in the session's thread is handled, and writes.
    const steer = humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: 'one more thing' });
    await harness.sender.event(steer);
    await harness.slack.waitFor(() => botReplies(harness.slack, 'C1', rootTs).some((m) => (m.markdown_text ?? '').includes('one more thing')));
    await harness.slack.waitFor(() => rootText().includes('Done'));
    await harness.bot.settled();
    const after = await snapshot(kv!);
    const added = Object.keys(after).filter((k) => !(k in before));
    const seenKey = `seen:message:T1:C1:${String(steer.ts)}`;
    const indexKey = `ts:T1:C1:${String(steer.ts)}`;
    expect(added).toEqual(expect.arrayContaining([seenKey, indexKey]));

    const now = Date.now();
    const expiresOf = async (key: string) => ((await kv!.get(key, { raw: true })) as { expires?: number } | undefined)?.expires;
    expect(await expiresOf(seenKey)).toBeGreaterThan(now + SEEN_TTL_MS - 60_000);
    expect(await expiresOf(seenKey)).toBeLessThanOrEqual(now + SEEN_TTL_MS);
    expect(await expiresOf(indexKey)).toBeGreaterThan(now + DEFAULT_RETENTION_DAYS * DAY_MS - 60_000);
    expect(await expiresOf(`thread:T1:C1:${rootTs}`)).toBeUndefined();
    if (b.redis) {
      // Redis drops them itself (PX); the record has no TTL.
      const client = (kv!.store as { client: { pTTL(key: string): Promise<number> } }).client;
      const full = (key: string) => `${kv!.namespace}::${key}`;
      const seenTtl = await client.pTTL(full(seenKey));
      expect(seenTtl).toBeGreaterThan(SEEN_TTL_MS - 60_000);
      expect(seenTtl).toBeLessThanOrEqual(SEEN_TTL_MS);
      expect(await client.pTTL(full(indexKey))).toBeGreaterThan(DEFAULT_RETENTION_DAYS * DAY_MS - 60_000);
      expect(await client.pTTL(full(`thread:T1:C1:${rootTs}`))).toBe(-1);
    }
  });

  it('pruning removes only records of sessions that stopped running longer ago than the retention', async () => {
    const harness = await startOn(b);
    // The bot's own pass at start would take these old records too: let it finish first.
    await harness.bot.lastPrune();
    const t0 = Date.now() - 40 * DAY_MS;
    let clock = t0;
    const records = new ThreadRecords(kv!, { retentionMs: 30 * DAY_MS, now: () => clock });
    await records.create(record({ threadTs: '1.old-idle', status: 'idle' }));
    await records.create(record({ threadTs: '1.old-failed', status: 'failed' }));
    await records.create(record({ threadTs: '1.old-ended', status: 'ended' }));
    await records.create(record({ threadTs: '1.old-active', status: 'active' }));
    await records.create(record({ threadTs: '1.old-starting', status: 'starting' }));
    // Created long ago, written to yesterday: its session ran recently.
    await records.create(record({ threadTs: '1.recent', status: 'idle' }));
    clock = Date.now() - DAY_MS;
    await records.update({ team: 'T1', channel: 'C9', threadTs: '1.recent' }, (r) => {
      r.prompt = 'touched';
    });
    clock = Date.now();

    expect(await records.prune()).toEqual({ removed: 3, kept: 3 });
    const left = [];
    for await (const key of storeKeys(kv!, 'thread:T1:C9:')) left.push(key);
    expect(left.sort()).toEqual(['thread:T1:C9:1.old-active', 'thread:T1:C9:1.old-starting', 'thread:T1:C9:1.recent']);
    const ref = (threadTs: string) => ({ team: 'T1', channel: 'C9', threadTs });
    expect(await records.wasPruned(ref('1.old-idle'))).toBe(true);
    expect(await records.wasPruned(ref('1.recent'))).toBe(false);
    expect(await records.prune()).toEqual({ removed: 0, kept: 3 });
    // Still active: after a restart its stream is reopened.
    expect(await records.activeRefs()).toEqual(expect.arrayContaining([ref('1.old-active'), ref('1.old-starting')]));
  });
});

describe('expired keys and pruned threads', () => {
  it('SQLite keeps an expired key until read: the prune pass deletes it', async () => {
    await startOn(backends[0]!);
    await kv!.set('seen:message:T1:C1:1.1', 1, 1);
    await kv!.set('seen:message:T1:C1:1.2', 1, 60_000);
    expect(await sweepExpired(kv!, Date.now() + 1000)).toBe(1);
    const left = [];
    for await (const key of storeKeys(kv!, 'seen:')) left.push(key);
    expect(left).toEqual(['seen:message:T1:C1:1.2']);
  });

  it('the bot prunes on start, and a reply in a pruned thread is told why nothing answers', async () => {
    const harness = await startOn(backends[0]!);
    const rootTs = await finishedTurn(harness);
    const session = [...harness.agents.sessions.values()][0]!;
    // Age the record as if its session last ran 31 days ago, then restart.
    const aged = new ThreadRecords(kv!, { now: () => Date.now() - 31 * DAY_MS });
    await aged.update({ team: 'T1', channel: 'C1', threadTs: rootTs }, () => undefined);
    await harness.restart();
    expect(await harness.bot.lastPrune()).toMatchObject({ removed: 1 });
    expect(await kv!.get(`thread:T1:C1:${rootTs}`)).toBeUndefined();

    await harness.sender.event(humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: 'are you still there?' }));
    const told = await harness.slack.waitFor(() => harness.slack.callsTo('chat.postEphemeral')[0]);
    expect(told.args).toMatchObject({
      channel: 'C1',
      user: 'U1',
      thread_ts: rootTs,
      text: expect.stringContaining('has not run for more than 30 days and I no longer keep its record'),
    });
    await harness.bot.settled();
    expect(harness.agents.received(session.id).filter((e) => e.type === 'user.message')).toHaveLength(1);
  });
});
