import { describe, expect, it } from 'vitest';
import { beforeAck } from '../../src/slack/before-ack.js';

/** A promise the test settles itself. */
function gate<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('beforeAck: the writes that must be durable before an ack, bounded', () => {
  it('work done in time is used and nothing is undone', async () => {
    const undone: string[] = [];
    const tracked: Promise<unknown>[] = [];
    const taken = await beforeAck(
      async () => 'stored',
      async (v) => void undone.push(v),
      (w) => tracked.push(w),
    );
    expect(taken).toEqual({ kind: 'done', value: 'stored' });
    expect(tracked).toHaveLength(0);
    expect(undone).toEqual([]);
  });

  it('work that has not answered by the deadline is late; what it makes afterwards is handed back to be undone', async () => {
    const store = gate<string>();
    const undone: string[] = [];
    const tracked: Promise<unknown>[] = [];
    let lateInside: boolean | undefined;
    const taken = await beforeAck(
      async (isLate) => {
        const v = await store.promise;
        lateInside = isLate();
        return v;
      },
      async (v) => void undone.push(v),
      (w) => tracked.push(w),
      0,
    );
    expect(taken).toEqual({ kind: 'late' });
    store.resolve('stored late');
    await Promise.all(tracked);
    expect(lateInside).toBe(true);
    expect(undone).toEqual(['stored late']);
  });

  it('work that fails in time rejects (the caller says so in the ack); failing after the deadline undoes nothing', async () => {
    await expect(
      beforeAck(
        async () => Promise.reject(new Error('store down')),
        async () => undefined,
        () => undefined,
      ),
    ).rejects.toThrow('store down');
    const store = gate<string>();
    const undone: string[] = [];
    const tracked: Promise<unknown>[] = [];
    const taken = await beforeAck(
      () => store.promise,
      async (v) => void undone.push(v),
      (w) => tracked.push(w),
      0,
    );
    expect(taken).toEqual({ kind: 'late' });
    store.reject(new Error('store down'));
    await Promise.all(tracked);
    expect(undone).toEqual([]);
  });
});
