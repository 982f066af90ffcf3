import { describe, expect, it } from 'vitest';
import type { CoalescingLoop } from '../../src/delivery/coalescing-loop.js';
import { ThreadLoops } from '../../src/delivery/thread-loops.js';
import { memoryLogger } from '../support/log-sink.js';

type Entry = { n: number; loop: CoalescingLoop };

describe('ThreadLoops', () => {
  const log = memoryLogger('debug').log;

  it('makes an entry once per thread; its loop runs the pass with that entry, then says it is idle', async () => {
    const loops = new ThreadLoops<Entry>();
    const passes: number[] = [];
    const idle: number[] = [];
    let made = 0;
    const ensure = () =>
      loops.ensure('T1:C1:1.0', {
        make: (loop) => ({ n: ++made, loop }),
        pass: async (e) => void passes.push(e.n),
        idle: (e) => idle.push(e.n),
        log,
      });
    const first = ensure();
    expect(ensure()).toBe(first);
    first.loop.request();
    await loops.settled();
    expect([made, passes, idle, loops.size]).toEqual([1, [1], [1], 1]);
  });

  it('drops an entry only while it is still the one asked for, and closes its loop', async () => {
    const loops = new ThreadLoops<Entry>();
    const passes: number[] = [];
    const opts = (n: number) => ({
      make: (loop: CoalescingLoop) => ({ n, loop }),
      pass: async (e: Entry) => void passes.push(e.n),
      idle: () => undefined,
      log,
    });
    const old = loops.ensure('k', opts(1));
    loops.drop('k');
    const newer = loops.ensure('k', opts(2));
    loops.drop('k', old);
    expect(loops.get('k')).toBe(newer);
    old.loop.request();
    newer.loop.request();
    await loops.settled();
    expect(passes).toEqual([2]);
    loops.clear();
    newer.loop.request();
    expect([loops.size, passes]).toEqual([0, [2]]);
  });
});
