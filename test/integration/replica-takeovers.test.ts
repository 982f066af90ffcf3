// A replica with many threads stops; the survivors' takeover scans share its threads out
// over the real Redis on 127.0.0.1:6379 (a fresh prefix per test), in one process.
// `TAKEOVER_THREADS=1000 npx vitest run test/integration/replica-takeovers.test.ts` prints
// how long the hand-over of that many threads takes (README, Several replicas).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { delay } from '../../src/ops/delay.js';
import { leaseTimes } from '../../src/replicas/lease-state.js';
import { Leases } from '../../src/replicas/leases.js';
import { CATCH_UPS_AT_ONCE, startTakeovers } from '../../src/replicas/takeovers.js';
import { openRedis } from '../../src/store/redis/connection.js';
import { threadKey } from '../../src/store/thread-records.js';
import { memoryLogger } from '../support/log-sink.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

const THREADS = Number(process.env.TAKEOVER_THREADS ?? 120);
/** What one catch-up costs here (reading the events and writing the thread, in the bot). */
const CATCH_UP_MS = Number(process.env.TAKEOVER_CATCH_UP_MS ?? 5);

describe('a replica holding many threads stops', () => {
  it(`its ${THREADS} threads are each taken over once, spread over the survivors, a few catch-ups at a time each`, async () => {
    const prefix = `test-${randomUUID()}#`;
    const log = memoryLogger('debug').log;
    const client = await openRedis('redis://127.0.0.1:6379');
    opened.push({ close: () => client.close() });
    const times = leaseTimes(60_000);
    const dead = new Leases(client, prefix, 'dead', times, log);
    const keys = Array.from({ length: THREADS }, (_, i) => threadKey({ team: 'T1', channel: 'C1', threadTs: `${i}.1` }));
    for (const key of keys) await dead.claim(key);
    // Handed over as a replica shutting down leaves them: lapsed at once.
    for (const key of keys) await dead.release(key, 'hand-over');

    const taken = new Map<string, string[]>();
    /** The most catch-ups each survivor ran at once. */
    const mostAtOnce = new Map<string, number>();
    let allTaken: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allTaken = resolve));
    const started = Date.now();
    for (const name of ['s1', 's2', 's3']) {
      const leases = new Leases(client, prefix, name, times, log);
      let atOnce = 0;
      opened.push(leases);
      const takeovers = startTakeovers({
        leases,
        everyMs: 10,
        takeOver: async (ref) => {
          atOnce += 1;
          mostAtOnce.set(name, Math.max(mostAtOnce.get(name) ?? 0, atOnce));
          try {
            if ((await leases.claim(threadKey(ref))).kind !== 'mine') return false;
            await delay(CATCH_UP_MS);
            taken.set(threadKey(ref), [...(taken.get(threadKey(ref)) ?? []), name]);
            if (taken.size === THREADS) allTaken();
            return true;
          } finally {
            atOnce -= 1;
          }
        },
        log,
      });
      opened.push(takeovers);
    }
    await done;
    const handOverMs = Date.now() - started;
    if (process.env.TAKEOVER_THREADS) console.log(`${THREADS} threads handed over to 3 replicas in ${handOverMs} ms`);

    expect([...taken.values()].every((by) => by.length === 1)).toBe(true);
    expect(new Set(taken.keys())).toEqual(new Set(keys));
    const perReplica = ['s1', 's2', 's3'].map((name) => [...taken.values()].filter((by) => by[0] === name).length);
    expect(perReplica.every((n) => n > 0)).toBe(true);
    expect(Math.max(...mostAtOnce.values())).toBeLessThanOrEqual(CATCH_UPS_AT_ONCE);
    expect(await dead.lapsed()).toEqual([]);
  });

  it('a scan reads the lapsed threads from a random place, so two replicas do not race for the same first ones', async () => {
    const prefix = `test-${randomUUID()}#`;
    const log = memoryLogger('debug').log;
    const client = await openRedis('redis://127.0.0.1:6379');
    opened.push({ close: () => client.close() });
    const leases = new Leases(client, prefix, 'dead', leaseTimes(60_000), log);
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const key of keys) await leases.claim(key);
    for (const key of keys) await leases.release(key, 'hand-over');
    const from = (r: number) => leases.lapsed(4, () => r);
    const [early, late] = [await from(0), await from(0.5)];
    expect(early).toHaveLength(4);
    expect(late).toHaveLength(4);
    expect(early.filter((k) => late.includes(k))).toEqual([]);
    // Every lapsed thread is in some window: the set is read as a ring.
    expect(new Set(await leases.lapsed(10))).toEqual(new Set(keys));
  });
});
