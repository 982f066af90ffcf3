import { describe, expect, it } from 'vitest';
import { RecordKeeper } from '../../../src/bridge/runner/record-keeper.js';
import { memoryStore, sessionRecord } from './records.js';

function setup(items = 0) {
  const first = sessionRecord();
  const store = memoryStore(first);
  let shown = 0;
  const keeper = new RecordKeeper(first, {
    write: store.write,
    show: () => {
      shown += 1;
    },
    itemsShown: () => items,
  });
  return { keeper, store, shown: () => shown };
}

describe('record keeper', () => {
  it('keeps the record as last written, with its session id', async () => {
    const s = setup();
    await s.keeper.update((r) => {
      r.status = 'idle';
      delete (r as { sessionId?: string }).sessionId;
    });
    expect(s.store.stored().status).toBe('idle');
    expect(s.keeper.current()).toMatchObject({ status: 'idle', sessionId: 'sesn_1' });
    expect(s.keeper.ref).toEqual({ team: 'T1', channel: 'C1', threadTs: '100.1' });
    expect(s.shown()).toBe(0);
  });

  it('a note goes after the items the thread shows, with its own key, and is shown', async () => {
    const s = setup(3);
    await s.keeper.note('first');
    await s.keeper.note('second');
    expect(s.store.stored().notices).toEqual([
      { key: 'n0', text: 'first', afterItems: 3 },
      { key: 'n1', text: 'second', afterItems: 3 },
    ]);
    expect(s.shown()).toBe(2);
  });

  it('a failure is a note, the failure and the failed status', async () => {
    const s = setup();
    await s.keeper.fail('the API is down');
    expect(s.store.stored()).toMatchObject({ status: 'failed', failure: 'the API is down', notices: [{ text: 'the API is down' }] });
    expect(s.keeper.current().status).toBe('failed');
    expect(s.shown()).toBeGreaterThan(0);
  });

  it('amend writes, shows, and returns the record as written', async () => {
    const s = setup();
    const written = await s.keeper.amend((r) => {
      r.budgetActions = { sevt_stop: { user: 'U1', action: 'end', at: 1 } } as never;
    });
    expect(written.budgetActions).toEqual(s.store.stored().budgetActions);
    expect(s.shown()).toBe(1);
  });
});
