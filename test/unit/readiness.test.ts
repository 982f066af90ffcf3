import { afterEach, describe, expect, it, vi } from 'vitest';
import { allAnswer, checkReadiness } from '../../src/ops/readiness.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('checkReadiness', () => {
  it('is ready when every dependency answers', async () => {
    expect(await checkReadiness([{ name: 'a', check: async () => true }], 1000)).toEqual({ kind: 'ready' });
  });

  it('names each dependency that refuses, throws or does not answer in time', async () => {
    vi.useFakeTimers();
    let aborted = false;
    const result = checkReadiness(
      [
        { name: 'up', check: async () => true },
        { name: 'refuses', check: async () => false },
        { name: 'throws', check: () => Promise.reject(new Error('ECONNREFUSED')) },
        {
          name: 'hangs',
          check: (signal) =>
            new Promise<boolean>(() => {
              signal.addEventListener('abort', () => (aborted = true));
            }),
        },
      ],
      2000,
    );
    await vi.advanceTimersByTimeAsync(2000);
    expect(await result).toEqual({ kind: 'not_ready', failing: ['refuses', 'throws', 'hangs'] });
    // The hung check was told to give up, and no timer is left behind.
    expect(aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a check whose slowness counts as up (Slack, shared by every replica) is ready when it does not answer in time, and not when it fails', async () => {
    vi.useFakeTimers();
    const result = checkReadiness(
      [
        { name: 'slow', slowIsUp: true, check: () => new Promise<boolean>(() => undefined) },
        { name: 'refused', slowIsUp: true, check: () => Promise.reject(new Error('ECONNREFUSED')) },
      ],
      2000,
    );
    await vi.advanceTimersByTimeAsync(2000);
    expect(await result).toEqual({ kind: 'not_ready', failing: ['refused'] });
  });

  it('Redis is up only while every connection answers (the budget store, the coordination client, the relay subscriber)', async () => {
    expect(await allAnswer([async () => true, async () => true, () => true])).toBe(true);
    expect(await allAnswer([async () => true, async () => false, () => true])).toBe(false);
    expect(await allAnswer([async () => true, async () => true, () => false])).toBe(false);
  });
});
