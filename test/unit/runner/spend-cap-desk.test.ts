import { describe, expect, it } from 'vitest';
import { SpendCapDesk, type CapSeen } from '../../../src/bridge/runner/spend-cap-desk.js';
import { initialState, type ThreadState } from '../../../src/bridge/thread-state.js';
import type { ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';

function setup(o: { setCapFails?: Error } = {}) {
  const state: ThreadState = initialState();
  state.phase = 'idle';
  state.outcome = 'budget';
  state.usage.cost = { amount: '512', currency: 'USD' };
  state.items.push({ kind: 'budget', id: 'sevt_stop', turn: 1 } as ThreadState['items'][number]);
  let record = { spendCap: { startCents: 500, maxCents: 2000, currentCents: 500 } } as unknown as ThreadRecord;
  const followed: Array<readonly string[] | undefined> = [];
  const caps: number[] = [];
  let archived = 0;
  const desk = new SpendCapDesk({
    ready: async () => undefined,
    state: () => state,
    amend: async (change) => {
      const copy = structuredClone(record);
      change(copy);
      record = copy;
    },
    followUntil: (phases) => void followed.push(phases),
    setCap: async (cents) => {
      if (o.setCapFails) throw o.setCapFails;
      caps.push(cents);
    },
    archive: async () => {
      archived += 1;
    },
    log: memoryLogger('silent').log,
  });
  const seen = (): CapSeen => ({ spendCap: record.spendCap!, ...(record.budgetActions ? { budgetActions: record.budgetActions } : {}) });
  return { desk, state, record: () => record, followed, caps, archived: () => archived, seen };
}

describe('spend-cap desk', () => {
  it('raises the cap by one step above what was spent, records the press and follows the session on', async () => {
    const s = setup();
    expect(s.desk.pausedAt()).toEqual({ id: 'sevt_stop', spentCents: 512 });
    const outcome = await s.desk.raise('sevt_stop', 'U1', s.seen());
    expect(outcome.kind).toBe('raised');
    expect(s.caps).toHaveLength(1);
    expect(s.record().spendCap!.currentCents).toBe(s.caps[0]);
    expect(s.record().budgetActions!.sevt_stop).toMatchObject({ user: 'U1', action: 'raise' });
    expect(s.followed).toEqual([['running', 'terminated']]);
  });

  it('a second press on the same stop is not sent', async () => {
    const s = setup();
    await s.desk.raise('sevt_stop', 'U1', s.seen());
    expect(await s.desk.end('sevt_stop', 'U2', s.seen())).toEqual({ kind: 'not_paused' });
    expect(s.archived()).toBe(0);
  });

  it('a raise the API refused is forgotten, so the buttons come back', async () => {
    const s = setup({ setCapFails: new Error('network down') });
    const outcome = await s.desk.raise('sevt_stop', 'U1', s.seen());
    expect(outcome.kind).toBe('failed');
    expect(s.record().budgetActions?.sevt_stop).toBeUndefined();
    expect(s.followed).toEqual([['running', 'terminated'], undefined]);
  });

  it('End archives the session and follows it to its end; a session not stopped at its cap is left alone', async () => {
    const s = setup();
    expect(await s.desk.end('sevt_other', 'U1', s.seen())).toEqual({ kind: 'not_paused' });
    expect(await s.desk.end('sevt_stop', 'U1', s.seen())).toEqual({ kind: 'ended' });
    expect(s.archived()).toBe(1);
    expect(s.followed).toEqual([['terminated']]);
    s.state.phase = 'running';
    expect(s.desk.pausedAt()).toBeUndefined();
  });
});
