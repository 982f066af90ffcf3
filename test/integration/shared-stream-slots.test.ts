import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type RunningBot, startBot } from '../../src/bot.js';
import { RedisStreamSlots } from '../../src/delivery/redis-stream-slots.js';
import type { SlotToken } from '../../src/delivery/stream-slots.js';
import { createLogger } from '../../src/ops/logger.js';
import { SlackSender } from '../fakes/slack/index.js';
import { agentText, type Harness, SIGNING_SECRET, startHarness } from '../support/harness.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const log = createLogger('silent');
const HOLD_MS = 400;

let open: RedisStreamSlots[] = [];
/** Namespaces this file wrote under, every key of them deleted after each test. */
let namespaces: string[] = [];

/** `n` replicas' slots on one Redis key: `limit` streams for all of them together. */
async function replicas(n: number, limit: number, holdMs = HOLD_MS): Promise<{ key: string; slots: RedisStreamSlots[] }> {
  const namespace = `test-${randomUUID()}`;
  namespaces.push(namespace);
  const key = `${namespace}:slots:T1`;
  const slots = await Promise.all(Array.from({ length: n }, () => RedisStreamSlots.open(REDIS_URL, key, limit, holdMs, log)));
  open.push(...slots);
  return { key, slots };
}

async function holdersOf(key: string): Promise<number> {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    return await redis.zCard(key);
  } finally {
    await redis.close();
  }
}

let h: Harness | undefined;
let b: RunningBot | undefined;

afterEach(async () => {
  await b?.close();
  await h?.close();
  b = h = undefined;
  await Promise.all(open.map((s) => s.close()));
  open = [];
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for (const ns of namespaces)
    for await (const found of redis.scanIterator({ MATCH: `${ns}*`, COUNT: 500 })) if (found.length > 0) await redis.del(found);
  await redis.close();
  namespaces = [];
});

describe('stream slots shared by replicas through Redis', () => {
  it('two bots on one Redis never hold more than the limit together, however many ask at once', async () => {
    const limit = 2;
    const { key, slots } = await replicas(2, limit);
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => slots[i % 2]!.take()));
    const held = tokens.filter((t): t is SlotToken => t !== undefined);
    expect(held).toHaveLength(limit);
    expect(await holdersOf(key)).toBe(limit);
    expect(slots.map((s) => s.free)).toEqual([0, 0]);
    // One given back (twice: the second release does nothing) is one slot for either bot.
    const first: SlotToken = held[0]!;
    const again: SlotToken = first;
    first.release();
    again.release();
    const next = await Promise.all([slots[0]!.take(), slots[1]!.take()]);
    expect(next.filter((t) => t !== undefined)).toHaveLength(1);
    expect(await holdersOf(key)).toBe(limit);
  });

  it('a bot that dies holding a slot keeps it only for the hold time; a live holder keeps its slot past it', async () => {
    const { key, slots } = await replicas(3, 2);
    const [dying, living, waiting] = slots as [RedisStreamSlots, RedisStreamSlots, RedisStreamSlots];
    expect(await dying.take()).toBeDefined();
    expect(await living.take()).toBeDefined();
    await dying.abandon();
    expect(await waiting.take()).toBeUndefined();
    // The dead holder lapses on Redis's clock; the living one was renewed meanwhile.
    await vi.waitFor(async () => expect(await waiting.take()).toBeDefined(), { timeout: 10 * HOLD_MS, interval: HOLD_MS / 4 });
    expect(await waiting.take()).toBeUndefined();
    expect(await holdersOf(key)).toBe(2);
  });

  it('close gives back what the bot holds, and the key goes when the last holder does', async () => {
    const { key, slots } = await replicas(1, 2);
    await slots[0]!.take();
    await slots[0]!.take();
    await slots[0]!.close();
    expect(await holdersOf(key)).toBe(0);
  });
});

describe('two bots on one Redis', () => {
  it('hold one stream open between them at a limit of one: the other thread posts its words', async () => {
    const storeNamespace = `test-${randomUUID()}`;
    namespaces.push(storeNamespace);
    const options = { storeNamespace, maxStreams: 1, statusIntervalMs: 0 };
    h = await startHarness({ STORE_URL: REDIS_URL }, options);
    b = await startBot(h.env, createLogger('silent'), options);
    const senderB = new SlackSender({ url: `http://127.0.0.1:${b.port}/slack/events`, signingSecret: SIGNING_SECRET, fake: h.slack });
    let waiting = 0;
    h.agents.onTurn = async (turn) => {
      await turn.message(`Thinking about ${turn.text}.`, { deltas: ['Thinking ', `about ${turn.text}.`] });
      waiting += 1;
      await turn.gate('go');
      await turn.message('Done thinking.');
    };
    await h.sender.command({ text: 'one', user: 'U1', channel: 'C1' });
    await senderB.command({ text: 'two', user: 'U2', channel: 'C2' });
    const roots = await h.slack.waitFor(() => {
      const found = ['C1', 'C2'].map((c) => h!.slack.messages(c).find((m) => !m.thread_ts && m.bot_id));
      return found.every((m) => m !== undefined) ? found : undefined;
    });
    await h.agents.waitFor(() => waiting === 2);
    // Both threads show their first words while both turns still run: one as a stream, one posted.
    await h.slack.waitFor(() => agentText(h!.slack, 'C1', roots[0]!.ts).includes('one') && agentText(h!.slack, 'C2', roots[1]!.ts).includes('two'));
    const streaming = ['C1', 'C2'].flatMap((c) => h!.slack.messages(c)).filter((m) => m.stream?.state === 'streaming');
    expect(streaming).toHaveLength(1);
    h.agents.release('go');
    h.agents.release('go');
    await h.slack.waitFor(() => ['C1', 'C2'].every((c, i) => agentText(h!.slack, c, roots[i]!.ts).includes('Done thinking.')));
    await h.bot.settled();
    await b.settled();
    expect(h.slack.rateLimited).toHaveLength(0);
  });
});
