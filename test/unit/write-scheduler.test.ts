import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SLACK_BUDGETS, TokenBucket } from '../../src/delivery/rate-budget.js';
import { WriteScheduler } from '../../src/delivery/write-scheduler.js';

describe('TokenBucket', () => {
  it('allows a burst, then one token per 60/perMinute seconds', () => {
    const b = new TokenBucket({ perMinute: 60, burst: 3, scope: 'channel' }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.readyAt(0)).toBe(1000);
    expect(b.take(999)).toBe(false);
    expect(b.take(1000)).toBe(true);
  });

  it('a pause empties the bucket and holds it until the pause ends', () => {
    const b = new TokenBucket({ perMinute: 60, burst: 5, scope: 'workspace' }, 0);
    b.pause(3000, 0);
    expect(b.take(2999)).toBe(false);
    expect(b.readyAt(100)).toBe(3000);
    expect(b.take(3000)).toBe(true);
    expect(b.take(3000)).toBe(false);
  });

  it('refunds never exceed the burst', () => {
    const b = new TokenBucket({ perMinute: 60, burst: 2, scope: 'workspace' }, 0);
    b.refund(0);
    expect(b.available(0)).toBe(2);
  });
});

describe('WriteScheduler', () => {
  let s: WriteScheduler;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    s = new WriteScheduler(() => Date.now());
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
    expect(order).toEqual([...names.slice(0, burst), 'b0']);
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
});
