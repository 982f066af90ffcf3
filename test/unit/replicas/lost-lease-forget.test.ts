// A replica that loses a thread's lease mid-turn forgets the thread's native status and Home
// entry: both drop a thread only at a finished state otherwise, so one would stay per hand-over.
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import type { RunnerDeps } from '../../../src/bridge/runner/runner-deps.js';
import { Runners } from '../../../src/bridge/runners.js';
import { initialState } from '../../../src/bridge/thread-state.js';
import type { SlackWriter } from '../../../src/delivery/slack-writer.js';
import type { Leases } from '../../../src/replicas/leases.js';
import { NativeStatus } from '../../../src/slack/native-status.js';
import { SessionBoard } from '../../../src/slack/session-board.js';
import { HomeIndex } from '../../../src/store/home-index.js';
import { NativeSupportStore } from '../../../src/store/native-support.js';
import { type ThreadRecord, ThreadRecords, type ThreadRef } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';

const ref: ThreadRef = { team: 'T1', channel: 'C1', threadTs: '1.1' };
const record = { ...ref, owner: 'U1', prompt: 'fix ci', createdAt: 0 } as ThreadRecord;
const running = { ...initialState(), phase: 'running' as const, turn: 1 };
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('a thread whose lease this replica lost', () => {
  it('is forgotten by the session watch when its lease is lost', () => {
    const forgotten: ThreadRef[] = [];
    const leases = { onLost: (_key: string) => undefined } as unknown as Leases;
    new Runners(
      { log: memoryLogger().log, watch: { observe: () => undefined, forget: (r: ThreadRef) => void forgotten.push(r) } } as unknown as RunnerDeps,
      leases,
    );
    leases.onLost('T1:C1:1.1');
    expect(forgotten).toEqual([ref]);
  });

  it('leaves no native status entry behind mid-turn, and nothing more is written for it', async () => {
    const calls: string[] = [];
    const writer = {
      call: async (method: string) => {
        calls.push(method);
        return { ok: true };
      },
    } as unknown as SlackWriter;
    const native = new NativeStatus({ writer, log: memoryLogger().log, store: new NativeSupportStore(new Keyv()) });
    native.observe(record, running);
    await native.settled();
    expect(native.size).toBe(1);
    native.forget(ref);
    expect(native.size).toBe(0);
    const written = calls.length;
    await flush();
    expect(calls).toHaveLength(written);
    native.close();
  });

  it('leaves no Home entry behind mid-turn', async () => {
    const kv = new Keyv();
    const board = new SessionBoard({ index: new HomeIndex(kv, new ThreadRecords(kv)), log: memoryLogger().log, onStateChange: () => undefined });
    board.observe(record, running);
    expect(board.size).toBe(1);
    board.forget(ref);
    expect(board.size).toBe(0);
    board.close();
  });
});
