import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisStreamSlots, type SlotsOp, type SlotsReply, type SlotsScript } from '../../src/delivery/redis-stream-slots.js';
import type { SlotToken } from '../../src/delivery/stream-slots.js';

const HOLD_MS = 900;
const quiet = { warn: () => undefined, debug: () => undefined };

/**
 * What SLOTS_SCRIPT does, on the (fake) clock, for the bookkeeping around it; the script
 * itself runs against Redis in test/integration/shared-stream-slots.test.ts. Records every call.
 */
function standIn(limit: number) {
  const holders = new Map<string, number>();
  const calls: Array<{ op: SlotsOp; ids: readonly string[] }> = [];
  let failing = false;
  let gate: Promise<void> | undefined;
  const script: SlotsScript = async (op, ids) => {
    calls.push({ op, ids });
    if (gate) await gate;
    if (failing) throw new Error('connection refused');
    const now = Date.now();
    for (const [id, until] of holders) if (until <= now) holders.delete(id);
    let done = 0;
    const lapsed: string[] = [];
    if (op === 'take' && holders.size < limit) {
      holders.set(ids[0]!, now + HOLD_MS);
      done = 1;
    }
    if (op === 'renew')
      for (const id of ids) {
        if (holders.has(id)) {
          holders.set(id, now + HOLD_MS);
          done += 1;
        } else lapsed.push(id);
      }
    if (op === 'release') for (const id of ids) done += holders.delete(id) ? 1 : 0;
    return { done, holders: holders.size, lapsed } satisfies SlotsReply;
  };
  return {
    script,
    holders,
    calls,
    fail: (on: boolean) => {
      failing = on;
    },
    hold: (g: Promise<void> | undefined) => {
      gate = g;
    },
  };
}

let made: RedisStreamSlots[] = [];
const replica = (script: SlotsScript, limit = 2) => {
  const slots = new RedisStreamSlots(script, limit, HOLD_MS, quiet);
  made.push(slots);
  return slots;
};

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await Promise.all(made.map((s) => s.close()));
  made = [];
  vi.useRealTimers();
});

describe('RedisStreamSlots', () => {
  it('two replicas on one store hold no more than the limit together, and learn it as `free`', async () => {
    const store = standIn(2);
    const [a, b] = [replica(store.script), replica(store.script)];
    expect(await a.take()).toBeDefined();
    expect(await b.take()).toBeDefined();
    expect(await a.take()).toBeUndefined();
    expect(await b.take()).toBeUndefined();
    expect(store.holders.size).toBe(2);
    expect([a.free, b.free]).toEqual([0, 0]);
  });

  it('gives a slot back once however often its token is released, to any replica', async () => {
    const store = standIn(1);
    const [a, b] = [replica(store.script, 1), replica(store.script, 1)];
    const token: SlotToken = (await a.take())!;
    const again: SlotToken = token;
    token.release();
    again.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.calls.filter((c) => c.op === 'release')).toHaveLength(1);
    expect(await b.take()).toBeDefined();
    expect(store.holders.size).toBe(1);
  });

  it('renews what it holds while the token is held: past the hold time no other replica gets the slot', async () => {
    const store = standIn(1);
    const [a, b] = [replica(store.script, 1), replica(store.script, 1)];
    const token: SlotToken = (await a.take())!;
    await vi.advanceTimersByTimeAsync(3 * HOLD_MS);
    expect(await b.take()).toBeUndefined();
    token.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(await b.take()).toBeDefined();
    // A released slot is not renewed again.
    const ids = store.calls.filter((c) => c.op === 'renew').at(-1)?.ids ?? [];
    expect(ids).toHaveLength(0);
  });

  it('a replica that crashed (abandon) gives nothing back: its slots lapse after the hold time', async () => {
    const store = standIn(1);
    const [a, b] = [replica(store.script, 1), replica(store.script, 1)];
    expect(await a.take()).toBeDefined();
    await a.abandon();
    expect(store.calls.filter((c) => c.op === 'release')).toHaveLength(0);
    expect(await b.take()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(HOLD_MS);
    expect(await b.take()).toBeDefined();
  });

  it('close gives back every slot still held, takes none after, and stops renewing', async () => {
    const store = standIn(2);
    const a = replica(store.script);
    await a.take();
    await a.take();
    await a.close();
    expect(store.holders.size).toBe(0);
    expect(await a.take()).toBeUndefined();
    const calls = store.calls.length;
    await vi.advanceTimersByTimeAsync(3 * HOLD_MS);
    expect(store.calls.length).toBe(calls);
  });

  it('a take that Redis grants while the replica closes is given back, not lost', async () => {
    const store = standIn(1);
    const a = replica(store.script, 1);
    let open!: () => void;
    store.hold(new Promise<void>((r) => (open = r)));
    const taking = a.take();
    const closing = a.close();
    store.hold(undefined);
    open();
    expect(await taking).toBeUndefined();
    await closing;
    expect(store.holders.size).toBe(0);
  });

  it('with Redis away no slot is taken: the thread posts instead of streaming', async () => {
    const store = standIn(2);
    const a = replica(store.script);
    store.fail(true);
    expect(await a.take()).toBeUndefined();
    store.fail(false);
    expect(await a.take()).toBeDefined();
  });

  it('a holder that lapsed before its renewal is no longer renewed (its stream is told in a warning)', async () => {
    const store = standIn(1);
    const warn = vi.fn();
    const a = new RedisStreamSlots(store.script, 1, HOLD_MS, { warn, debug: () => undefined });
    made.push(a);
    expect(await a.take()).toBeDefined();
    // As if the process had stalled past the hold time: the holder is gone when the renewal runs.
    store.holders.clear();
    await vi.advanceTimersByTimeAsync(HOLD_MS / 3);
    expect(warn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(HOLD_MS / 3);
    expect(store.calls.filter((c) => c.op === 'renew').at(-1)?.ids).toEqual([]);
  });
});
