import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkReadiness } from '../../src/ops/readiness.js';

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
});
