import { describe, expect, it } from 'vitest';
import { answerOnce } from '../../../src/bridge/runner/answer-once.js';
import { DecisionsDesk } from '../../../src/bridge/runner/decisions-desk.js';
import { initialState, type ThreadState } from '../../../src/bridge/thread-state.js';
import type { ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';
import { badRequest, memoryWire } from './wire.js';

/** A record in memory whose updates run one at a time, like the store's lock. */
function memoryRecord() {
  let record = { decisions: {}, answers: {} } as unknown as ThreadRecord;
  let chain = Promise.resolve();
  return {
    current: () => record,
    update: (change: (r: ThreadRecord) => void) => {
      const run = chain.then(async () => {
        await Promise.resolve();
        const copy = structuredClone(record);
        change(copy);
        record = copy;
      });
      chain = run;
      return run;
    },
  };
}

function setup(o: { questionTimeoutMs?: number; signal?: AbortSignal } = {}) {
  const state: ThreadState = initialState();
  state.items.push(
    { kind: 'approval', id: 'sevt_bash', name: 'bash', input: { command: 'ls' }, turn: 1, state: 'pending' },
    { kind: 'question', id: 'sevt_ask', question: 'Which one?', choices: ['the first, with all its words', 'the second'], turn: 1, open: true },
  );
  const w = memoryWire();
  const record = memoryRecord();
  const tracked: Array<Promise<unknown>> = [];
  let shown = 0;
  const signal = o.signal ?? new AbortController().signal;
  const desk = new DecisionsDesk({
    state: () => state,
    record,
    show: () => {
      shown += 1;
    },
    send: answerOnce(w.wire, signal),
    track: (work) => void tracked.push(work),
    log: memoryLogger('silent').log,
    signal,
    ...(o.questionTimeoutMs !== undefined ? { questionTimeoutMs: o.questionTimeoutMs } : {}),
  });
  return { desk, state, w, record, tracked, shown: () => shown };
}

describe('decisions desk', () => {
  it('keeps the first of two decisions made at once; only it reaches the agent', async () => {
    const s = setup();
    const [first, second] = await Promise.all([
      s.desk.decide('sevt_bash', { user: 'U1', result: 'allow' }),
      s.desk.decide('sevt_bash', { user: 'U2', result: 'deny', reason: 'no' }),
    ]);
    expect(first).toEqual({ kind: 'sent' });
    expect(second).toEqual({ kind: 'not_pending' });
    expect(s.record.current().decisions.sevt_bash).toMatchObject({ user: 'U1', result: 'allow' });
    expect(s.w.sends).toEqual([[{ type: 'user.tool_confirmation', tool_use_id: 'sevt_bash', result: 'allow' }]]);
  });

  it('a decision the API refused is forgotten, so the buttons come back', async () => {
    const s = setup();
    s.w.failNext(badRequest(), { landed: false });
    const outcome = await s.desk.decide('sevt_bash', { user: 'U1', result: 'deny', reason: 'too risky' });
    expect(outcome.kind).toBe('failed');
    expect(s.record.current().decisions.sevt_bash).toBeUndefined();
    expect(s.shown()).toBe(2);
  });

  it('a decision recorded before a restart is sent once when the approval shows pending again', async () => {
    const s = setup();
    await s.record.update((r) => {
      r.decisions.sevt_bash = { user: 'U1', result: 'allow', at: 1 };
    });
    s.desk.sendRecorded();
    s.desk.sendRecorded();
    await Promise.all(s.tracked);
    s.desk.sendRecorded();
    await Promise.all(s.tracked);
    expect(s.w.sends).toHaveLength(1);
  });

  it('hands a waiting question the answer with its files, and gives the agent the whole choice', async () => {
    const s = setup();
    const waiting = s.desk.awaitAnswer('sevt_ask');
    expect(s.desk.openQuestion()).toBe('sevt_ask');
    const attachments = { text: 'see file', blocks: [{ type: 'document' as const, source: { type: 'file' as const, file_id: 'file_1' } }] };
    expect(await s.desk.answer('sevt_ask', { user: 'U1', text: 'the first, with…', choice: 0, attachments })).toEqual({ kind: 'answered' });
    await expect(waiting).resolves.toEqual({ user: 'U1', text: 'the first, with all its words', attachments });
    expect(await s.desk.answer('sevt_ask', { user: 'U2', text: 'the second' })).toEqual({ kind: 'not_open' });
    expect(s.desk.openQuestion()).toBeUndefined();
    // Asked again after a restart: the recorded answer, at once.
    await expect(s.desk.awaitAnswer('sevt_ask')).resolves.toMatchObject({ user: 'U1', text: 'the first, with all its words' });
  });

  it('times a question out when nobody answers, saying how long it waited', async () => {
    const s = setup({ questionTimeoutMs: 5 });
    await expect(s.desk.awaitAnswer('sevt_ask')).rejects.toThrow('nobody answered within 1 s');
  });

  it('a waiting question gives up when the runner closes', async () => {
    const stop = new AbortController();
    const s = setup({ signal: stop.signal });
    const waiting = s.desk.awaitAnswer('sevt_ask');
    stop.abort();
    await expect(waiting).rejects.toThrow('shutting down');
  });
});
