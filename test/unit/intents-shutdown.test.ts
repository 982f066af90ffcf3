import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { Intents, type IntentsDeps } from '../../src/bridge/intents.js';
import type { RunnerDeps } from '../../src/bridge/runner/runner-deps.js';
import { Runners } from '../../src/bridge/runners.js';
import { Starting } from '../../src/bridge/starting.js';
import { startOfReply } from '../../src/bridge/starts.js';
import { ThreadQueues } from '../../src/bridge/thread-queues.js';
import { emptyHistory, ThreadRecords, type ThreadRecord } from '../../src/store/thread-records.js';

const ref = { team: 'T1', channel: 'C1', threadTs: '100.1' };
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** The intents of a bridge that has begun closing: its runners make no runner any more. */
async function closingIntents() {
  const records = new ThreadRecords(new Keyv());
  const record: ThreadRecord = {
    v: 1,
    ...ref,
    owner: 'U1',
    prompt: 'do the thing',
    rootTs: ref.threadTs,
    status: 'active',
    createdAt: 0,
    sessionId: 'sesn_1',
    ...emptyHistory(),
  };
  await records.create(record);
  // Closing, a runner is never made: nothing of its deps is used.
  const runners = new Runners({} as RunnerDeps);
  runners.stopMaking();
  const deps = {
    records,
    log: { ...silent, child: () => silent },
    runners,
    starting: new Starting(),
    queues: new ThreadQueues(),
    receipts: { seen: async () => undefined },
  } as unknown as IntentsDeps;
  return new Intents(deps);
}

describe('intents while the bot shuts down', () => {
  it('each intent in a session thread comes back as shutting_down, not as an error', async () => {
    const intents = await closingIntents();
    const down = { kind: 'shutting_down' };
    expect(await intents.steer(ref, { user: 'U1', text: 'more', ts: '100.2' })).toEqual(down);
    expect(await intents.decide(ref, 'sevt_tool', { user: 'U1', result: 'allow' })).toEqual(down);
    expect(await intents.answer(ref, 'sevt_q', { user: 'U1', text: 'blue' })).toEqual(down);
    expect(await intents.interrupt(ref, 'U1')).toEqual(down);
    expect(await intents.endAtCap(ref, 'sevt_stop', 'U1')).toEqual(down);
    expect(await intents.hasOpenQuestion(ref)).toBe(false);
  });

  it('a mention that became a reply while shutting down is a start that did not happen, the bot restarting', () => {
    expect(startOfReply(ref, { kind: 'shutting_down' })).toEqual({ kind: 'not_started', problem: { kind: 'bot_restarting' } });
    expect(startOfReply(ref, { kind: 'not_a_session' })).toEqual({ kind: 'not_started', problem: { kind: 'session_gone' } });
    expect(startOfReply(ref, { kind: 'sent' })).toEqual({ kind: 'started', ref });
  });
});
