import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { OpenStreams } from '../../src/delivery/open-streams.js';
import { METADATA_EVENT_TYPE, SlackCallError, type ThreadReply } from '../../src/delivery/slack-writer.js';
import type { SlotSource, SlotToken } from '../../src/delivery/stream-slots.js';
import { type TextBlock, TextDelivery, type TextWriter } from '../../src/delivery/text-delivery.js';
import { emptyHistory, ThreadRecords, type ThreadRecord } from '../../src/store/thread-records.js';

const ref = { team: 'T1', channel: 'C1', threadTs: '100.000001' };
const BOT = 'UBOT';
const KEY = 'text:1';

/**
 * Stream slots that count each token's releases. Unlike the real tokens, a second release
 * is not absorbed: it frees a second slot and is counted, so a path that gives a slot back
 * twice shows here, as does one that never gives it back.
 */
function countingSlots(limit: number) {
  let used = 0;
  const releases: number[] = [];
  const source = {
    get free() {
      return limit - used;
    },
    take() {
      if (used >= limit) return undefined;
      used += 1;
      const id = releases.push(0) - 1;
      const token = {
        get held() {
          return releases[id] === 0;
        },
        release() {
          releases[id]! += 1;
          used -= 1;
        },
      };
      // The token's state mark exists for the compiler only: this stand-in has none to carry.
      return token as unknown as SlotToken;
    },
  } satisfies SlotSource;
  return {
    source,
    releases,
    get used() {
      return used;
    },
  };
}

type Fault = { error: Error; applied: boolean };

/** A thread in Slack, in memory: calls are written down and each method fails as scripted. */
function fakeSlack() {
  const messages: ThreadReply[] = [];
  const calls: string[] = [];
  const faults = new Map<string, Fault[]>();
  let next = 1;
  /** Write budgets: what was acquired and refunded, and what happens while a write waits for its budget. */
  const budget: { acquired: string[]; refunded: string[]; tokens: number; whileWaiting(method: string): void } = {
    acquired: [],
    refunded: [],
    /** Tokens left in every method's bucket: an acquire takes one, a refund gives it back (fractions as buckets refill). */
    tokens: 100,
    whileWaiting: () => undefined,
  };
  const newTs = () => `300.${String(next++).padStart(6, '0')}`;
  function hit<T>(method: string, apply: () => T): T {
    calls.push(method);
    const fault = faults.get(method)?.shift();
    if (fault && !fault.applied) throw fault.error;
    const result = apply();
    if (fault) throw fault.error;
    return result;
  }
  const writer: TextWriter = {
    acquire: async (req) => {
      budget.acquired.push(req.method);
      budget.tokens -= 1;
      budget.whileWaiting(req.method);
    },
    scheduler: {
      available: () => budget.tokens,
      refund: (req) => {
        budget.refunded.push(req.method);
        budget.tokens += 1;
      },
    },
    callOnce: async (method: string) =>
      hit(method, () => {
        if (method !== 'chat.startStream') return {};
        const ts = newTs();
        messages.push({ ts, user: BOT });
        return { ts };
      }),
    call: async (method: string, args: Record<string, unknown>) =>
      hit(method, () => {
        if (method === 'chat.delete')
          messages.splice(
            messages.findIndex((m) => m.ts === args.ts),
            1,
          );
        return {};
      }),
    postOnce: async (_channel: string, _threadTs: string, key: string) =>
      hit('chat.postMessage', () => {
        const ts = newTs();
        messages.push({ ts, user: BOT, metadata: { event_type: METADATA_EVENT_TYPE, event_payload: { key } } });
        return ts;
      }),
    reserveUpload: async () => 'F1',
    filesInThread: async () => new Set<string>(),
    completeUploadsOnce: async () => undefined,
    threadMessages: async () => messages,
  };
  const fail = (method: string, error: Error, applied = false) => faults.set(method, [...(faults.get(method) ?? []), { error, applied }]);
  return { writer, calls, fail, budget, faultsLeft: () => [...faults.values()].flat().length };
}

const down = (method: string) => new SlackCallError(method, 'ratelimited', { transient: true });
const unknown = (method: string) => new SlackCallError(method, 'http_503', { transient: true, unknownOutcome: true });
const refused = (method: string, error = 'message_not_in_streaming_state') => new SlackCallError(method, error);

async function setup(limit = 2) {
  const slack = fakeSlack();
  const slots = countingSlots(limit);
  const streams = new OpenStreams(slots.source);
  const store = new ThreadRecords(new Keyv());
  await store.create({
    ...ref,
    v: 1,
    owner: 'U1',
    prompt: 'hi',
    status: 'active',
    createdAt: 0,
    ...emptyHistory(),
  });
  let failIndex = false;
  let beforeRead = () => undefined as unknown;
  const records = {
    get: (r: typeof ref) => {
      beforeRead();
      return store.get(r);
    },
    update: (r: typeof ref, change: (record: ThreadRecord) => void) => store.update(r, change),
    indexMessage: async (r: typeof ref, ts: string) => {
      if (failIndex) {
        failIndex = false;
        throw new Error('store unavailable');
      }
      await store.indexMessage(r, ts);
    },
  };
  let block: TextBlock = { kind: 'text', key: KEY, text: 'Hello', committed: 5, open: true, turn: 1 };
  let closed = false;
  const delivery = new TextDelivery(
    {
      ref,
      writer: slack.writer,
      records,
      log: { warn: () => undefined },
      streams,
      // No lingering or flush gaps: each pass writes what it can at once.
      limits: { streamLingerMs: 0, postLingerMs: 0, flushMs: 0 },
      retryDelayMs: 5_000,
      botUserId: BOT,
    },
    { latest: () => block, closed: () => closed, wake: () => undefined },
  );
  const segments = async () => (await store.get(ref))!.segments[KEY] ?? [];
  return {
    slack,
    slots,
    segments,
    openInRecord: async () => (await segments()).filter((s) => s.mode === 'stream' && !s.closed).length,
    show(text: string, open = true) {
      block = { ...block, text, committed: text.length, open };
    },
    pass: async () => delivery.deliver(ref.threadTs, { user: 'U1', team: 'T1' }, block, (await store.get(ref))!),
    failIndexOnce() {
      failIndex = true;
    },
    /** Runs before each read of the thread record: another thread's pass may act meanwhile. */
    beforeRecordRead(run: () => void) {
      beforeRead = run;
    },
    close() {
      closed = true;
      streams.close();
    },
  };
}

type Thread = Awaited<ReturnType<typeof setup>>;

/** A first pass opens a stream with "Hello" (the block still open). */
async function streaming(t: Thread): Promise<void> {
  expect(await t.pass()).toBe(false);
  expect(await t.openInRecord()).toBe(1);
  expect(t.slots.used).toBe(1);
}

/**
 * Each way a text write can fail. After it, a slot is held for each stream the record shows
 * open, plus `unrecorded`: streams Slack opened that the record does not show yet.
 */
const cases: Array<{ name: string; run(t: Thread): Promise<unknown>; unrecorded?: number }> = [
  {
    name: 'the stream start fails with Slack down',
    run: async (t) => {
      t.slack.fail('chat.startStream', down('chat.startStream'));
      return t.pass();
    },
  },
  {
    name: 'the stream start has an unknown outcome (it landed)',
    run: async (t) => {
      t.slack.fail('chat.startStream', unknown('chat.startStream'), true);
      return t.pass();
    },
  },
  {
    name: 'the stream start is refused for good (posted instead)',
    run: async (t) => {
      t.slack.fail('chat.startStream', refused('chat.startStream', 'missing_scope'));
      return t.pass();
    },
  },
  {
    name: 'the stream start throws a bug',
    run: async (t) => {
      t.slack.fail('chat.startStream', new TypeError('not a Slack failure'));
      await expect(t.pass()).rejects.toThrow('not a Slack failure');
    },
  },
  {
    // The stream exists but is not recorded: it keeps its slot until its intent is settled.
    name: 'recording the new stream fails',
    run: async (t) => {
      t.failIndexOnce();
      await expect(t.pass()).rejects.toThrow('store unavailable');
    },
    unrecorded: 1,
  },
  {
    name: 'an append has an unknown outcome (it landed)',
    run: async (t) => {
      await streaming(t);
      t.slack.fail('chat.appendStream', unknown('chat.appendStream'), true);
      t.show('Hello there');
      return t.pass();
    },
  },
  {
    name: 'an append is refused for good (the stream expired)',
    run: async (t) => {
      await streaming(t);
      t.slack.fail('chat.appendStream', refused('chat.appendStream'));
      t.show('Hello there');
      return t.pass();
    },
  },
  {
    name: 'an append fails with Slack down (the stream stays open)',
    run: async (t) => {
      await streaming(t);
      t.slack.fail('chat.appendStream', down('chat.appendStream'));
      t.show('Hello there');
      return t.pass();
    },
  },
  {
    name: 'the stop fails with Slack down (the stream stays open)',
    run: async (t) => {
      await streaming(t);
      t.slack.fail('chat.stopStream', down('chat.stopStream'));
      t.show('Hello.', false);
      return t.pass();
    },
  },
  {
    name: 'the stop is refused (it had landed already)',
    run: async (t) => {
      await streaming(t);
      t.slack.fail('chat.stopStream', refused('chat.stopStream'));
      t.show('Hello.', false);
      return t.pass();
    },
  },
  {
    name: 'the streamed words are withdrawn (rewritten)',
    run: async (t) => {
      await streaming(t);
      t.show('Goodbye');
      return t.pass();
    },
  },
];

describe('TextDelivery: stream slots', () => {
  it.each(cases)('holds a slot only for a stream that is open, and gives it back once, when $name', async ({ run, unrecorded = 0 }) => {
    const t = await setup();
    await run(t);
    // The failure named happened.
    expect(t.slack.faultsLeft()).toBe(0);
    expect(t.slots.releases.filter((n) => n > 1)).toEqual([]);
    expect(t.slots.used).toBe((await t.openInRecord()) + unrecorded);

    // Slack works again and the turn ends: the block is finished and no slot is left held.
    t.show('Hello, all done.', false);
    for (let pass = 0; pass < 3 && !(await t.pass()); pass++);
    expect(await t.openInRecord()).toBe(0);
    expect(t.slots.used).toBe(0);
    expect(t.slots.releases.every((n) => n === 1)).toBe(true);

    t.close();
    expect(t.slots.releases.every((n) => n === 1)).toBe(true);
  });

  it('gives back the slot of a stream still open when the thread closes, once', async () => {
    const t = await setup();
    await streaming(t);
    t.close();
    expect(t.slots.used).toBe(0);
    expect(t.slots.releases).toEqual([1]);
  });

  it('posts instead of streaming when no slot is free', async () => {
    const t = await setup(0);
    t.show('Hello.', false);
    expect(await t.pass()).toBe(true);
    expect(t.slack.calls).toEqual(['chat.postMessage']);
    expect(t.slots.releases).toEqual([]);
  });
});

describe('TextDelivery: budget', () => {
  it('gives the budget back and plans again when the step changed while it waited (the turn ended: post, not stream)', async () => {
    const t = await setup();
    t.slack.budget.whileWaiting = (method) => {
      if (method === 'chat.startStream') t.show('Hello.', false);
    };
    expect(await t.pass()).toBe(true);
    expect(t.slack.budget.acquired).toEqual(['chat.startStream', 'chat.postMessage']);
    expect(t.slack.budget.refunded).toEqual(['chat.startStream']);
    expect(t.slack.calls).toEqual(['chat.postMessage']);
    expect(t.slots.releases).toEqual([]);
  });

  it('starts the stream it took the budget for when fewer than two startStream tokens were left (its own token counts)', async () => {
    const t = await setup();
    // A shared bucket part way through refilling: one whole token and a half.
    t.slack.budget.tokens = 1.5;
    expect(await t.pass()).toBe(false);
    expect(t.slack.budget.acquired).toEqual(['chat.startStream']);
    expect(t.slack.budget.refunded).toEqual([]);
    expect(t.slack.calls).toEqual(['chat.startStream']);
    expect(await t.openInRecord()).toBe(1);
  });

  it('gives the budget back when another thread took the last stream slot before the start, and posts instead', async () => {
    const t = await setup(1);
    let other: SlotToken | undefined;
    // The start step reads the record (the newest message it knows) just before it takes a slot.
    t.beforeRecordRead(() => {
      if (t.slack.budget.acquired.includes('chat.startStream')) other ??= t.slots.source.take();
    });
    t.show('Hello.', true);
    await t.pass();
    expect(other).toBeDefined();
    expect(t.slack.budget.acquired).toEqual(['chat.startStream', 'chat.postMessage']);
    expect(t.slack.budget.refunded).toEqual(['chat.startStream']);
    expect(t.slack.calls).toEqual(['chat.postMessage']);
    // Only the other thread's slot is taken; the start that found none gave back none.
    expect(t.slots.used).toBe(1);
    expect(t.slots.releases).toEqual([0]);
  });
});
