// The lease scripts against the real Redis on 127.0.0.1:6379 (a fresh prefix per test):
// two replicas' Leases contending for one thread.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { leaseTimes } from '../../src/replicas/lease-state.js';
import { Leases } from '../../src/replicas/leases.js';
import { openRedis, type Redis } from '../../src/store/redis/connection.js';
import { memoryLogger } from '../support/log-sink.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function redis(): Promise<Redis> {
  const client = await openRedis('redis://127.0.0.1:6379');
  opened.push({ close: () => client.close() });
  return client;
}

async function pair(leaseMs: number) {
  const prefix = `test-${randomUUID()}#`;
  const log = memoryLogger('debug').log;
  const [ra, rb] = [await redis(), await redis()];
  const a = new Leases(ra, prefix, 'replica-a', leaseTimes(leaseMs), log);
  const b = new Leases(rb, prefix, 'replica-b', leaseTimes(leaseMs), log);
  opened.push(a, b);
  return { a, b, prefix, redis: ra };
}

/** Polls a condition that changes in Redis by itself (a lease's PX running out). */
async function until<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 400; i += 1) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('thread leases in Redis', () => {
  it('one replica holds a thread; the other is told who', async () => {
    const { a, b } = await pair(15_000);
    expect(await a.claim('T1:C1:1.1')).toEqual({ kind: 'mine' });
    expect(await b.claim('T1:C1:1.1')).toEqual({ kind: 'theirs', holder: 'replica-a' });
    expect(a.mayWrite('T1:C1:1.1')).toBe(true);
    expect(b.mayWrite('T1:C1:1.1')).toBe(false);
    expect(await b.lapsed()).toEqual([]);
  });

  it('a holder that keeps renewing keeps the thread past its lease time', async () => {
    const { a, b } = await pair(300);
    await a.claim('k');
    a.start();
    const seen = await until(async () => (await b.lapsed()).length === 0 && (await a.holderOf('k')) === 'replica-a' && Date.now(), 'renewals');
    // Three lease times later it is still A's.
    await until(async () => Date.now() > seen + 900 && true, 'time to pass');
    expect(await b.claim('k')).toEqual({ kind: 'theirs', holder: 'replica-a' });
    expect(a.mayWrite('k')).toBe(true);
  });

  it('a holder that stops renewing (killed) shows up as lapsed, and the other replica takes the thread', async () => {
    const { a, b } = await pair(300);
    await a.claim('k');
    await a.abandon();
    expect(a.mayWrite('k')).toBe(false);
    expect(await until(async () => (await b.lapsed()).includes('k') && (await b.claim('k')).kind === 'mine', 'the takeover')).toBe(true);
    expect(await a.claim('k')).toEqual({ kind: 'theirs', holder: 'replica-b' });
    expect(await b.lapsed()).toEqual([]);
  });

  it('a holder whose renewal is refused (the thread went to another replica) loses it at once and is told', async () => {
    const { a, b, prefix, redis } = await pair(600);
    await a.claim('k');
    const lost = new Promise<string>((resolve) => {
      a.onLost = resolve;
    });
    // A partition: A's lease lapsed in Redis and B took the thread before A could renew.
    await redis.del(`${prefix}lease:k`);
    expect(await b.claim('k')).toEqual({ kind: 'mine' });
    a.start();
    expect(await lost).toBe('k');
    expect(a.mayWrite('k')).toBe(false);
    expect(await a.holderOf('k')).toBe('replica-b');
  });

  it("giving a lease back: 'done' forgets the thread, 'hand-over' makes it lapsed at once; nobody else's lease is touched", async () => {
    const { a, b } = await pair(15_000);
    await a.claim('done');
    await a.claim('handed');
    await b.claim('theirs');
    await a.release('done', 'done');
    await a.release('handed', 'hand-over');
    await a.release('theirs', 'done');
    expect(await b.lapsed()).toEqual(['handed']);
    expect(await b.holderOf('done')).toBeNull();
    expect(await b.holderOf('theirs')).toBe('replica-b');
    expect(await b.claim('handed')).toEqual({ kind: 'mine' });
  });

  it('forget drops a lapsed entry only while nobody holds its lease', async () => {
    const { a, b, prefix, redis } = await pair(15_000);
    await a.claim('k');
    await b.forget('k');
    expect(await redis.zScore(`${prefix}lease-deadlines`, 'k')).not.toBeNull();
    await a.release('k', 'hand-over');
    expect(await b.lapsed()).toEqual(['k']);
    await b.forget('k');
    expect(await redis.zScore(`${prefix}lease-deadlines`, 'k')).toBeNull();
  });

  it('every due lease is renewed by one script call, and a renewal stuck in Redis is not queued up behind by the ticks that follow', async () => {
    const prefix = `test-${randomUUID()}#`;
    const client = await redis();
    const evals: Array<{ keys: number; go: () => void }> = [];
    let stalled = true;
    let firstEval: () => void = () => undefined;
    const evalSeen = new Promise<void>((resolve) => (firstEval = resolve));
    // The replica's connection, its script calls counted and held while Redis "stalls".
    const counted = new Proxy(client, {
      get(target, name) {
        if (name === 'eval')
          return async (script: string, o: { keys: string[] }) => {
            if (!stalled) return target.eval(script, o);
            await new Promise<void>((go) => {
              evals.push({ keys: o.keys.length, go });
              firstEval();
            });
            return target.eval(script, o);
          };
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // Long enough that 30 claims on a loaded machine all fall well inside one lease.
    const times = leaseTimes(3000);
    const a = new Leases(counted, prefix, 'replica-a', times, memoryLogger('debug').log);
    opened.push(a);
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    stalled = false;
    for (const key of keys) await a.claim(key);
    // Every lease is due for renewal before the loop starts (a lease is due renewEveryMs after
    // its claim): the first renewal must carry all 30, however long the claims took.
    const lastClaim = Date.now();
    await until(async () => Date.now() > lastClaim + times.renewEveryMs && true, 'every lease due');
    stalled = true;
    const renewAll = vi.spyOn(a as unknown as { renewAll: () => Promise<void> }, 'renewAll');
    a.start();
    await evalSeen;
    const calls = renewAll.mock.calls.length;
    // Several ticks pass while the one renewal waits for Redis.
    const since = Date.now();
    await until(async () => Date.now() > since + 4 * Math.floor(times.renewEveryMs / 3) && true, 'ticks to pass');
    expect(evals.map((e) => e.keys)).toEqual([keys.length + 1]);
    stalled = false;
    for (const e of evals) e.go();
    await a.close();
    expect(renewAll).toHaveBeenCalledTimes(calls);
    expect(keys.every((key) => a.mayWrite(key))).toBe(true);
    expect(await a.holderOf('k29')).toBe('replica-a');
  });
});
