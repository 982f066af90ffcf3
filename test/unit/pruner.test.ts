import Keyv from 'keyv';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPruner } from '../../src/store/pruner.js';
import { DAY_MS } from '../../src/store/retention.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import { memoryLogger } from '../support/log-sink.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the pruner', () => {
  it('passes at start and on its timer, and after close() never again', async () => {
    vi.useFakeTimers();
    const records = new ThreadRecords(new Keyv());
    const prune = vi.spyOn(records, 'prune');
    const pruner = startPruner({ records, kv: new Keyv(), log: memoryLogger('silent').log, everyMs: DAY_MS });
    expect(await pruner.lastPass()).toEqual({ removed: 0, kept: 0, expired: 0 });
    expect(prune).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(DAY_MS);
    await pruner.lastPass();
    expect(prune).toHaveBeenCalledTimes(2);
    await pruner.close();
    await vi.advanceTimersByTimeAsync(3 * DAY_MS);
    expect(prune).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
