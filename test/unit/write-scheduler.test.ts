import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryBudgetStore, type BudgetStore } from '../../src/delivery/budget-store.js';
import { SLACK_BUDGETS, WORKSPACE_BUDGETS } from '../../src/delivery/rate-budget.js';
import { WriteScheduler } from '../../src/delivery/write-scheduler.js';

describe('WriteScheduler', () => {
  let s: WriteScheduler;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    s = new WriteScheduler({ now: () => Date.now() });
  });
  afterEach(() => {
    s.close();
    vi.useRealTimers();
  });

  const order: string[] = [];
  const acquire = (name: string, method: string, priority: 'content' | 'status', channel = 'C1') =>
    s.acquire({ method, team: 'T', channel, priority }).then(() => order.push(name));

  it('grants content before status when both wait on one bucket, FIFO within a priority', async () => {
    order.length = 0;
    // Drain the chat.update burst first.
    await Promise.all(Array.from({ length: SLACK_BUDGETS['chat.update']!.burst }, (_, i) => acquire(`warm${i}`, 'chat.update', 'content')));
    order.length = 0;
    const all = [
      acquire('s1', 'chat.update', 'status'),
      acquire('c1', 'chat.update', 'content'),
      acquire('s2', 'chat.update', 'status'),
      acquire('c2', 'chat.update', 'content'),
    ];
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(all);
    expect(order).toEqual(['c1', 'c2', 's1', 's2']);
  });

  it('paces postMessage per channel: other channels are not held up', async () => {
    order.length = 0;
    const { burst, perMinute } = SLACK_BUDGETS['chat.postMessage']!;
    const gap = Math.ceil(60_000 / perMinute);
    const names = Array.from({ length: burst + 3 }, (_, i) => `a${i}`);
    const c1 = names.map((name) => acquire(name, 'chat.postMessage', 'content', 'C1'));
    const c2 = acquire('b0', 'chat.postMessage', 'content', 'C2');
    await vi.advanceTimersByTimeAsync(0);
    // Lanes are served side by side: C1's burst and C2's post all go at once.
    expect([...order].sort()).toEqual([...names.slice(0, burst), 'b0'].sort());
    await vi.advanceTimersByTimeAsync(gap);
    expect(order).toContain(names[burst]);
    expect(order).not.toContain(names[burst + 1]);
    await vi.advanceTimersByTimeAsync(3 * gap);
    await Promise.all([...c1, c2]);
    expect(order.filter((n) => n.startsWith('a'))).toEqual(names);
  });

  it('a 429 pauses only that method for Retry-After', async () => {
    order.length = 0;
    s.rateLimited({ method: 'chat.update', team: 'T' }, 5000);
    const blocked = acquire('update', 'chat.update', 'status');
    const free = acquire('append', 'chat.appendStream', 'content');
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual(['append']);
    await vi.advanceTimersByTimeAsync(4000);
    expect(order).toEqual(['append']);
    await vi.advanceTimersByTimeAsync(1100);
    await blocked;
    await free;
    expect(order).toEqual(['append', 'update']);
    expect(s.counts.paused).toBe(1);
  });

  it('lets unbudgeted methods through and rejects waiters on close', async () => {
    const granted: string[] = [];
    const take = (method: string, name: string) => s.acquire({ method, team: 'T', priority: 'content' }).then(() => granted.push(name));
    // No budget for auth.test: more calls than any burst go through at once, with no time passing.
    const unbudgeted = Array.from({ length: 50 }, (_, i) => take('auth.test', `auth${i}`));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(50);
    await Promise.all(unbudgeted);
    // A budgeted method gets its burst, then the next one waits for a token.
    const { burst } = SLACK_BUDGETS['chat.startStream']!;
    granted.length = 0;
    const inBurst = Array.from({ length: burst }, (_, i) => take('chat.startStream', `stream${i}`));
    const waiting = s.acquire({ method: 'chat.startStream', team: 'T', priority: 'content' }).then(() => granted.push('over'));
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(inBurst);
    expect(granted).toHaveLength(burst);
    s.close();
    await expect(waiting).rejects.toThrow('scheduler closed');
    expect(granted).not.toContain('over');
  });

  it('paces postMessage per workspace too: many channels each within their own budget share one', async () => {
    order.length = 0;
    const workspace = WORKSPACE_BUDGETS['chat.postMessage']!;
    const gap = Math.ceil(60_000 / workspace.perMinute);
    // One post in each of burst + 2 channels: no channel's own bucket is ever short.
    const names = Array.from({ length: workspace.burst + 2 }, (_, i) => `p${i}`);
    const all = names.map((name, i) => acquire(name, 'chat.postMessage', 'content', `CH${i}`));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(names.slice(0, workspace.burst));
    expect(s.available({ method: 'chat.postMessage', team: 'T', channel: 'CH-new' })).toBeLessThan(1);
    await vi.advanceTimersByTimeAsync(gap);
    expect(order).toEqual(names.slice(0, workspace.burst + 1));
    await vi.advanceTimersByTimeAsync(gap);
    await Promise.all(all);
    expect(order).toEqual(names);
  });

  it('a 429 on one post pauses its channel and the workspace post budget, not other methods', async () => {
    order.length = 0;
    s.rateLimited({ method: 'chat.postMessage', team: 'T', channel: 'C1' }, 3000);
    const other = acquire('other-channel', 'chat.postMessage', 'content', 'C2');
    const update = acquire('update', 'chat.update', 'status');
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual(['update']);
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all([other, update]);
    expect(order).toEqual(['update', 'other-channel']);
  });

  it('a waiter that gave up before its grant leaves the token for the next write', async () => {
    order.length = 0;
    const { burst } = SLACK_BUDGETS['chat.startStream']!;
    await Promise.all(Array.from({ length: burst }, (_, i) => acquire(`warm${i}`, 'chat.startStream', 'content')));
    const abort = new AbortController();
    const gaveUp = s.acquire({ method: 'chat.startStream', team: 'T', priority: 'content' }, abort.signal);
    const next = acquire('next', 'chat.startStream', 'content');
    abort.abort(new Error('gave up'));
    await expect(gaveUp).rejects.toThrow('gave up');
    await vi.advanceTimersByTimeAsync(Math.ceil(60_000 / SLACK_BUDGETS['chat.startStream']!.perMinute));
    await next;
    expect(order).toContain('next');
  });

  it('replicas on one store take turns: waiting posts are granted in the order they asked, each asking once', async () => {
    order.length = 0;
    const shared = new MemoryBudgetStore(() => Date.now());
    let asked = 0;
    const counting: BudgetStore = Object.assign(Object.create(shared) as BudgetStore, {
      reserve: (buckets: Parameters<BudgetStore['reserve']>[0]) => {
        asked += 1;
        return shared.reserve(buckets);
      },
    });
    const replicas = [new WriteScheduler({ store: counting }), new WriteScheduler({ store: counting })];
    const workspace = WORKSPACE_BUDGETS['chat.postMessage']!;
    const gap = Math.ceil(60_000 / workspace.perMinute);
    // The workspace's burst spent, then posts in channels of their own (no channel is short),
    // asked in turn at the two replicas while the bucket is empty.
    const post = (r: number, name: string, channel: string) =>
      replicas[r]!.acquire({ method: 'chat.postMessage', team: 'T', channel, priority: 'content' }).then(() => order.push(name));
    await Promise.all(Array.from({ length: workspace.burst }, (_, i) => post(i % 2, `warm${i}`, `W${i}`)));
    order.length = 0;
    asked = 0;
    const names = Array.from({ length: 6 }, (_, i) => `p${i}`);
    const all: Promise<number>[] = [];
    for (const [i, name] of names.entries()) {
      all.push(post(i % 2, name, `CH${i}`));
      await vi.advanceTimersByTimeAsync(gap / 4);
    }
    await vi.advanceTimersByTimeAsync(names.length * gap);
    await Promise.all(all);
    expect(order).toEqual(names);
    expect(asked).toBe(names.length);
    for (const r of replicas) r.close();
  });
});
