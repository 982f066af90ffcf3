import { describe, expect, it } from 'vitest';
import { TurnEnds } from '../../../src/bridge/runner/turn-ends.js';
import { initialState, type ThreadState } from '../../../src/bridge/thread-state.js';
import type { ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';
import { memoryStore, sessionRecord } from './records.js';

function setup(o: { status?: ThreadRecord['status']; idle?: boolean } = {}) {
  const state: ThreadState = initialState();
  const store = memoryStore(sessionRecord({ status: o.status ?? 'active', sentMessages: { sevt_msg: { user: 'U1', ts: '100.2' } } }));
  const marks: Array<[string, string, ThreadState['outcome']]> = [];
  const shared: boolean[] = [];
  const order: string[] = [];
  const tracked: Promise<unknown>[] = [];
  let idle = o.idle ?? true;
  let settle: () => void = () => undefined;
  let settledNow = true;
  const ends = new TurnEnds({
    state: () => state,
    record: { current: () => store.stored(), update: async (change) => void (await store.write(change)) },
    delivery: {
      idle: () => idle,
      settled: () => {
        order.push('settled');
        return settledNow ? Promise.resolve() : new Promise<void>((r) => (settle = r));
      },
    },
    shareFiles: async (usedTools) => {
      order.push('shared');
      shared.push(usedTools);
    },
    markTurn: async (channel, ts, outcome) => void marks.push([channel, ts, outcome]),
    track: (work) => void tracked.push(work),
    log: memoryLogger('silent').log,
  });
  return {
    ends,
    state,
    store,
    marks,
    shared,
    order,
    done: () => Promise.all(tracked),
    tracked,
    setIdle: (v: boolean) => {
      idle = v;
    },
    holdDelivery: () => {
      settledNow = false;
    },
    releaseDelivery: () => settle(),
  };
}

describe('turn ends', () => {
  it('a turn that ended marks the message that started it and then shares its files', async () => {
    const s = setup();
    Object.assign(s.state, { phase: 'idle', turnOpen: false, turnStartedBy: 'sevt_msg', outcome: 'done', turn: 1 });
    s.ends.afterFold({ phase: 'running', turnOpen: true });
    await s.done();
    expect(s.marks).toEqual([['C1', '100.2', 'done']]);
    expect(s.shared).toEqual([false]);
    expect(s.store.stored().status).toBe('idle');
  });

  it('files follow the turn’s words: shared only once delivery has settled', async () => {
    const s = setup();
    s.holdDelivery();
    Object.assign(s.state, { phase: 'idle', turnOpen: false, turn: 1 });
    s.state.items.push({ kind: 'tools', turn: 1 } as ThreadState['items'][number]);
    const sharing = s.ends.shareOutputs();
    await Promise.resolve();
    expect(s.shared).toEqual([]);
    s.releaseDelivery();
    await sharing;
    expect(s.order).toEqual(['settled', 'shared']);
    expect(s.shared).toEqual([true]);
  });

  it('nothing follows a batch that neither changed the phase nor ended a turn', async () => {
    const s = setup();
    Object.assign(s.state, { phase: 'running', turnOpen: true });
    s.ends.afterFold({ phase: 'running', turnOpen: true });
    expect(s.tracked).toHaveLength(0);
  });

  it('a turn started by no message of ours leaves no mark', async () => {
    const s = setup();
    Object.assign(s.state, { turnStartedBy: 'sevt_elsewhere', outcome: 'done' });
    await s.ends.markTurnDone();
    expect(s.marks).toEqual([]);
  });

  it('a starting or failed thread keeps its status; an idle one only once its messages are out', async () => {
    for (const status of ['starting', 'failed'] as const) {
      const s = setup({ status });
      s.state.phase = 'idle';
      await s.ends.persistStatus();
      expect(s.store.stored().status).toBe(status);
      expect(s.store.writes()).toBe(0);
    }
    const s = setup({ idle: false });
    s.state.phase = 'idle';
    await s.ends.persistStatus();
    expect(s.store.stored().status).toBe('active');
    s.setIdle(true);
    await s.ends.persistStatus();
    expect(s.store.stored().status).toBe('idle');
  });

  it('running again is written at once, whatever delivery still does', async () => {
    const s = setup({ status: 'idle', idle: false });
    s.state.phase = 'running';
    await s.ends.persistStatus();
    expect(s.store.stored().status).toBe('active');
  });
});
