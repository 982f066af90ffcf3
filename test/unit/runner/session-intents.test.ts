import { describe, expect, it } from 'vitest';
import { RecordKeeper } from '../../../src/bridge/runner/record-keeper.js';
import { SessionIntents } from '../../../src/bridge/runner/session-intents.js';
import { initialState, type LocalEvent, type ThreadState } from '../../../src/bridge/thread-state.js';
import type { ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';
import { memoryStore, sessionRecord } from './records.js';
import { serverError } from './wire.js';

function setup(o: { record?: Partial<ThreadRecord>; openFails?: Error; sendFails?: Error } = {}) {
  const state: ThreadState = initialState();
  const first = sessionRecord(o.record);
  const store = memoryStore(first);
  const keeper = new RecordKeeper(first, { write: store.write, show: () => undefined, itemsShown: () => state.items.length });
  const folded: LocalEvent[] = [];
  const calls: string[] = [];
  const tracked: Promise<unknown>[] = [];
  const known: Array<ReadonlySet<string>> = [];
  let holds = 0;
  let heldDuringSend = 0;
  let next = 1;
  const intents = new SessionIntents({
    busy: async (work) => {
      holds += 1;
      try {
        return await work();
      } finally {
        holds -= 1;
      }
    },
    openStream: async () => {
      calls.push('open');
      if (o.openFails) throw o.openFails;
    },
    state: () => state,
    fold: (events) => void folded.push(...events),
    record: keeper,
    sender: {
      sendMessage: async (_text, _files, ids) => {
        heldDuringSend = holds;
        known.push(ids);
        if (o.sendFails) throw o.sendFails;
        return `sevt_${next++}`;
      },
      sendInterrupt: async () => {
        if (o.sendFails) throw o.sendFails;
        return `sevt_${next++}`;
      },
      landedMessage: async () => undefined,
      landedInterrupt: async () => undefined,
    },
    decisions: {
      decide: async () => {
        calls.push('decide');
        return { kind: 'sent' };
      },
      openQuestion: () => undefined,
      answer: async () => ({ kind: 'answered' }),
    },
    spendCap: { raise: async () => ({ kind: 'not_paused' }), end: async () => ({ kind: 'ended' }) },
    delivery: {
      request: () => void calls.push('request'),
      adoptPosted: async () => void calls.push('adopt'),
    },
    turnEnds: {
      persistStatus: async () => void calls.push('status'),
      markTurnDone: async () => void calls.push('mark'),
      shareOutputs: async () => void calls.push('share'),
    },
    track: (work) => void tracked.push(work),
    log: memoryLogger('silent').log,
  });
  return { intents, state, store, folded, calls, known, heldDuringSend: () => heldDuringSend, done: () => Promise.all(tracked) };
}

describe('session intents', () => {
  it('a sent message is folded, recorded with its author, and makes a starting or failed thread active', async () => {
    const s = setup({ record: { status: 'failed', failure: 'earlier', sentMessages: { sevt_old: { user: 'U1' } } } });
    s.state.processedUserMessages.push('sevt_seen');
    const outcome = await s.intents.sendMessage('hello', { user: 'U2', ts: '100.5' });
    expect(outcome).toEqual({ kind: 'sent', eventId: 'sevt_1' });
    expect(s.heldDuringSend()).toBe(1);
    expect([...s.known[0]!].sort()).toEqual(['sevt_old', 'sevt_seen']);
    expect(s.folded).toEqual([{ type: 'local.user_message_sent', id: 'sevt_1' }]);
    expect(s.store.stored().sentMessages.sevt_1).toEqual({ user: 'U2', ts: '100.5' });
    expect(s.store.stored().status).toBe('active');
    expect(s.store.stored()).not.toHaveProperty('failure');
    await s.done();
    expect(s.calls).toEqual(['open', 'status']);
  });

  it('a message whose turn already ended when the send returned gets its mark at once', async () => {
    const s = setup();
    s.state.turnStartedBy = 'sevt_1';
    await s.intents.sendMessage('quick', { user: 'U1' });
    await s.done();
    expect(s.calls).toContain('mark');
  });

  it('a send the API refused is a failure with its words, and nothing is recorded', async () => {
    const s = setup({ sendFails: serverError() });
    const outcome = await s.intents.sendMessage('hello', { user: 'U1' });
    expect(outcome.kind).toBe('failed');
    if (outcome.kind === 'failed') expect(outcome.problem.words).toMatch(/sending the message to the agent/);
    expect(s.store.writes()).toBe(0);
    expect(s.folded).toEqual([]);
  });

  it('an interrupt on a thread that runs nothing opens no stream', async () => {
    const s = setup({ record: { status: 'idle' } });
    expect(await s.intents.interrupt('U1')).toEqual({ kind: 'nothing_running' });
    expect(s.calls).toEqual([]);
  });

  it('an interrupt is sent once: recorded with who asked, folded and shown; a second one is already stopping', async () => {
    const s = setup();
    s.state.phase = 'running';
    expect(await s.intents.interrupt('U2')).toEqual({ kind: 'sent' });
    expect(s.store.stored().interrupts).toEqual({ sevt_1: 'U2' });
    expect(s.folded).toEqual([{ type: 'local.interrupt_sent', id: 'sevt_1' }]);
    expect(s.calls).toEqual(['open', 'request']);
    s.state.interruptId = 'sevt_1';
    expect(await s.intents.interrupt('U3')).toEqual({ kind: 'already_stopping' });
  });

  it('after a restart, a thread still starting whose prompt never went out says so', async () => {
    const s = setup({ record: { status: 'starting' } });
    expect(await s.intents.resume()).toEqual({ kind: 'prompt_unsent' });
    expect(s.calls).toEqual(['adopt', 'open']);
    const t = setup();
    Object.assign(t.state, { turn: 1, turnOpen: false });
    expect(await t.intents.resume()).toEqual({ kind: 'caught_up' });
    await t.done();
    expect(t.calls).toContain('share');
  });

  it('a resume that cannot reach the session fails the thread with the words', async () => {
    const s = setup({ openFails: serverError() });
    expect(await s.intents.resume()).toEqual({ kind: 'failed' });
    expect(s.store.stored().status).toBe('failed');
    expect(s.store.stored().failure).toMatch(/reconnecting to the session/);
  });

  it('a decision is not handed on when the session cannot be read', async () => {
    const s = setup({ openFails: serverError() });
    const outcome = await s.intents.decide('sevt_tool', { user: 'U1', result: 'allow' });
    expect(outcome.kind).toBe('failed');
    expect(s.calls).not.toContain('decide');
  });
});
