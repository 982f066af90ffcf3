// The lease scripts against the real Redis on 127.0.0.1:6379 (a fresh prefix per test):
// two replicas' Leases contending for one thread.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
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
});
