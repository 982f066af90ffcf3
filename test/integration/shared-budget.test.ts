import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBudgetStore, type BudgetStore } from '../../src/delivery/budget-store.js';
import { SLACK_BUDGETS, WORKSPACE_BUDGETS } from '../../src/delivery/rate-budget.js';
import { RedisBudgetStore } from '../../src/delivery/redis-budget-store.js';
import { WriteScheduler } from '../../src/delivery/write-scheduler.js';
import { createLogger } from '../../src/ops/logger.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const log = createLogger('silent');
const HOUR = 3_600_000;

let open: Array<{ scheduler: WriteScheduler; store: BudgetStore }> = [];

/** Three replicas' schedulers on one Redis prefix, their clocks an hour apart. */
async function replicas(prefix: string): Promise<WriteScheduler[]> {
  const made = await Promise.all(
    [-HOUR, 0, HOUR].map(async (skew) => {
      const store = await RedisBudgetStore.open(REDIS_URL, prefix, log);
      return { store, scheduler: new WriteScheduler({ store, now: () => Date.now() + skew }) };
    }),
  );
  open.push(...made);
  return made.map((m) => m.scheduler);
}

afterEach(async () => {
  for (const { scheduler, store } of open) {
    scheduler.close();
    await store.close();
  }
  open = [];
});

/** Each grant's time after `start`, in order of granting. */
async function grantTimes(acquires: Array<() => Promise<void>>): Promise<{ start: number; times: number[] }> {
  const start = Date.now();
  const times: number[] = [];
  await Promise.all(acquires.map((a) => a().then(() => times.push(Date.now() - start))));
  return { start, times: times.sort((a, b) => a - b) };
}

describe('one rate budget shared by replicas through Redis', () => {
  it('three schedulers on one Redis grant posts at the workspace rate of one, whatever their clocks', async () => {
    const schedulers = await replicas(`test-${randomUUID()}:budget:`);
    const { burst, perMinute } = WORKSPACE_BUDGETS['chat.postMessage']!;
    const gap = 60_000 / perMinute;
    const extra = 6;
    // Every post in a channel of its own: no channel's bucket is ever short, only the workspace's.
    const acquires = Array.from(
      { length: burst + extra },
      (_, i) => () => schedulers[i % 3]!.acquire({ method: 'chat.postMessage', team: 'T', channel: `C${i}`, priority: 'content' }),
    );
    const { times } = await grantTimes(acquires);
    expect(times).toHaveLength(burst + extra);
    // Past the burst, the k-th post waits for k tokens of refill (Redis counts in whole ms).
    for (let k = 1; k <= extra; k++) expect(times[burst + k - 1]!).toBeGreaterThanOrEqual(k * gap - 2);
  });

  it('the same load on three in-memory schedulers is three budgets: all of it goes at once', async () => {
    const made = [0, 1, 2].map(() => {
      const store = new MemoryBudgetStore();
      return { store, scheduler: new WriteScheduler({ store }) };
    });
    open.push(...made);
    const schedulers = made.map((m) => m.scheduler);
    const { burst } = WORKSPACE_BUDGETS['chat.postMessage']!;
    let granted = 0;
    await Promise.all(
      Array.from({ length: 3 * burst }, (_, i) =>
        schedulers[i % 3]!.acquire({ method: 'chat.postMessage', team: 'T', channel: `C${i}`, priority: 'content' }).then(() => granted++),
      ),
    );
    // Three times the workspace burst, none of it waited: what Slack then answers with 429s.
    expect(granted).toBe(3 * burst);
    expect(schedulers.every((s) => s.counts.waited === 0)).toBe(true);
  });

  it('a 429 seen by one replica pauses that method on the others', async () => {
    const [a, b] = await replicas(`test-${randomUUID()}:budget:`);
    const retryAfterMs = 1000;
    a!.rateLimited({ method: 'chat.update', team: 'T' }, retryAfterMs);
    // The pause is in Redis once a's scheduler has written it: a's own next write waits for it too.
    const { times } = await grantTimes([
      () => a!.acquire({ method: 'chat.update', team: 'T', priority: 'status' }),
      () => b!.acquire({ method: 'chat.update', team: 'T', priority: 'status' }),
    ]);
    // After the pause one call goes; the next waits a token's time.
    expect(times[0]!).toBeGreaterThanOrEqual(retryAfterMs - 2);
    expect(times[1]!).toBeGreaterThanOrEqual(retryAfterMs + 60_000 / SLACK_BUDGETS['chat.update']!.perMinute - 2);
  });

  it('a post reserves its channel token and the workspace token for when both have one; later posts queue behind it', async () => {
    const prefix = `test-${randomUUID()}:budget:`;
    const store = await RedisBudgetStore.open(REDIS_URL, prefix, log);
    open.push({ store, scheduler: new WriteScheduler({ store }) });
    const channel = { key: 'T:C1:chat.postMessage', perMinute: 1, burst: 2 };
    const workspace = { key: 'T:chat.postMessage', perMinute: 1, burst: 1 };
    expect(await store.reserve([channel, workspace])).toBe(0);
    // The workspace is out for a minute: so is the post, its channel token spent then, not now.
    const minutes = async () => Math.round((await store.reserve([channel, workspace])) / 60_000);
    expect(await minutes()).toBe(1);
    expect(store.available(channel)).toBeLessThan(1);
    expect(await minutes()).toBe(2);
    await store.refund([workspace]);
    expect(await minutes()).toBe(2);
  });

  it('replicas waiting for one bucket get its tokens in the order they asked, whichever replica asks', async () => {
    const prefix = `test-${randomUUID()}:budget:`;
    const stores = await Promise.all([0, 1, 2].map(() => RedisBudgetStore.open(REDIS_URL, prefix, log)));
    open.push(...stores.map((store) => ({ store, scheduler: new WriteScheduler({ store }) })));
    const bucket = { key: 'T:chat.startStream', perMinute: 1, burst: 1 };
    const turns: number[] = [];
    for (let i = 0; i < 6; i++) turns.push(Math.round((await stores[i % 3]!.reserve([bucket])) / 60_000));
    expect(turns).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
