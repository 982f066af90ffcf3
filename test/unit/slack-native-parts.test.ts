import { describe, expect, it } from 'vitest';
import { initialState, type ThreadState } from '../../src/bridge/thread-state.js';
import { SlackCallError, type SlackWriter } from '../../src/delivery/slack-writer.js';
import { HomePublisher } from '../../src/slack/home-publisher.js';
import { NATIVE_RETRY_BASE_MS, NATIVE_RETRY_MAX_MS, NativeStatus, nativeRetryDelay } from '../../src/slack/native-status.js';
import { nativeWords } from '../../src/words/native.js';
import { homeStateOf, SessionBoard } from '../../src/slack/session-board.js';
import Keyv from 'keyv';
import { HomeIndex, RECENT_PER_OWNER } from '../../src/store/home-index.js';
import { NativeSupportStore, REFUSAL_KEEP_MS } from '../../src/store/native-support.js';
import { emptyHistory, ThreadRecords, type ThreadRecord } from '../../src/store/thread-records.js';
import { AgentProfiles } from '../../src/agents/profiles.js';
import { parseAgentsConfig } from '../../src/config/load-agents-file.js';
import { LISTENED } from '../../src/slack/handlers.js';
import { readInbound } from '../../src/slack/inbound.js';
import { memoryLogger } from '../support/log-sink.js';

// NativeStatus, SessionBoard and HomePublisher over a writer that records calls and answers
// as a test says, and (for the Home tab) an in-memory Keyv as the shared store: no server.

type Call = { method: string; args: Record<string, unknown> };

function stubWriter(answer: (c: Call) => unknown = () => ({ ok: true })) {
  const calls: Call[] = [];
  const waiters: Array<() => void> = [];
  let gate: Promise<void> = Promise.resolve();
  const writer = {
    async call(method: string, args: Record<string, unknown>) {
      await gate;
      calls.push({ method, args });
      for (const w of waiters.splice(0)) w();
      const out = answer({ method, args });
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as SlackWriter;
  return {
    writer,
    calls,
    /** Resolves once `n` calls were made. */
    waitForCalls: (n: number) =>
      new Promise<Call[]>((resolve) => {
        const check = () => (calls.length >= n ? resolve(calls) : waiters.push(check));
        check();
      }),

    /** Holds every call until the returned function is called. */
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
  };
}

const record = (over: Partial<ThreadRecord> = {}): ThreadRecord =>
  ({ team: 'T1', channel: 'C1', threadTs: '1.1', owner: 'U1', prompt: 'fix ci', createdAt: 0, ...over }) as ThreadRecord;
const state = (s: Partial<ThreadState>): ThreadState => ({ ...initialState(), ...s });
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('NativeStatus', () => {
  it('writes the latest wanted status once, however many changes came while a write waited', async () => {
    const w = stubWriter();
    const native = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(new Keyv()) });
    const release = w.hold();
    native.observe(record(), state({ phase: 'running', turn: 1 }));
    // The first write is under way (the store said nothing of a refusal) and waits for Slack.
    await flush();
    for (let i = 0; i < 10; i += 1) native.observe(record(), state({ phase: i % 2 ? 'running' : 'waiting', turn: 1 }));
    native.observe(record(), state({ phase: 'idle', turn: 1 }));
    release();
    await flush();
    await flush();
    await flush();
    const statuses = w.calls.filter((c) => c.method === 'agents.sessions.setStatus').map((c) => c.args.status);
    // The first write went out with what was wanted then; the next carries the latest only.
    expect(statuses).toEqual(['processing', 'active']);
    expect(w.calls[0]!.args).toMatchObject({ channel_id: 'C1', thread_ts: '1.1', title: 'fix ci', initiator_user_id: 'U1' });
    // Waiting for its person with everything written: the thread is not kept in memory.
    expect(native.size).toBe(0);
    native.close();
  });

  it('an error about one thread gives up that thread only; an error about the workspace stops every native write there', async () => {
    const w = stubWriter((c) =>
      c.args.thread_ts === 'gone'
        ? new SlackCallError(c.method, 'thread_not_found')
        : c.args.thread_ts === '2.2'
          ? new SlackCallError(c.method, 'not_allowed')
          : { ok: true },
    );
    const native = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(new Keyv()) });
    native.observe(record({ threadTs: 'gone' }), state({ phase: 'running' }));
    await flush();
    native.observe(record({ threadTs: '1.1' }), state({ phase: 'running' }));
    await flush();
    expect(native.supportIn('T1')).toEqual({ kind: 'supported' });
    native.observe(record({ threadTs: 'gone' }), state({ phase: 'idle' }));
    await flush();
    expect(w.calls.filter((c) => c.args.thread_ts === 'gone')).toHaveLength(1);

    native.observe(record({ threadTs: '2.2' }), state({ phase: 'running' }));
    await flush();
    expect(native.supportIn('T1')).toEqual({ kind: 'refused', error: 'not_allowed' });
    const before = w.calls.length;
    native.observe(record({ threadTs: '1.1' }), state({ phase: 'idle' }));
    native.observe(record({ threadTs: '3.3' }), state({ phase: 'running' }));
    // Another workspace is asked on its own.
    native.observe(record({ team: 'T2', threadTs: '9.9' }), state({ phase: 'running' }));
    await flush();
    await flush();
    expect(new Set(w.calls.slice(before).map((c) => c.args.thread_ts))).toEqual(new Set(['9.9']));
    native.close();
  });

  it('a workspace’s refusal is kept in the store: another replica does not ask Slack again, until the refusal is old', async () => {
    const kv = new Keyv();
    let now = 1_000_000;
    const clock = () => now;
    const refusing = stubWriter((c) => new SlackCallError(c.method, 'not_allowed'));
    const a = new NativeStatus({ writer: refusing.writer, log: memoryLogger().log, store: new NativeSupportStore(kv, clock), now: clock });
    a.observe(record(), state({ phase: 'running' }));
    await refusing.waitForCalls(1);
    await flush();
    expect(a.supportIn('T1')).toEqual({ kind: 'refused', error: 'not_allowed' });

    // Replica B (or the bot after a restart) on the same store.
    const w = stubWriter();
    const b = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(kv, clock), now: clock });
    b.observe(record({ threadTs: '2.2' }), state({ phase: 'running' }));
    await flush();
    await flush();
    expect(w.calls).toEqual([]);
    expect(b.supportIn('T1')).toEqual({ kind: 'refused', error: 'not_allowed' });
    b.observe(record({ threadTs: '3.3' }), state({ phase: 'running' }));
    await flush();
    expect(w.calls).toEqual([]);

    // A day later the workspace may have the features: the first call asks again.
    now += REFUSAL_KEEP_MS + 1;
    b.observe(record({ threadTs: '4.4' }), state({ phase: 'running' }));
    await w.waitForCalls(1);
    expect(w.calls[0]).toMatchObject({ method: 'agents.sessions.setStatus', args: { thread_ts: '4.4', status: 'processing' } });
    a.close();
    b.close();
  });

  it('a transient failure is tried again at the next change; loading messages are set again after the bot replied', async () => {
    let fail = true;
    const w = stubWriter((c) =>
      fail && c.method === 'agents.sessions.setStatus' ? new SlackCallError(c.method, 'fetch_failed', { transient: true }) : { ok: true },
    );
    const native = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(new Keyv()) });
    native.observe(record(), state({ phase: 'running' }));
    await flush();
    fail = false;
    native.observe(record(), state({ phase: 'running' }));
    await flush();
    await flush();
    expect(w.calls.map((c) => c.method)).toEqual(['agents.sessions.setStatus', 'agents.sessions.setStatus', 'assistant.threads.setStatus']);
    native.replied('T1', 'C1', '1.1');
    await flush();
    await flush();
    expect(w.calls.map((c) => c.method).at(-1)).toBe('assistant.threads.setStatus');
    expect(w.calls).toHaveLength(4);
    native.close();
  });

  it('loading messages Slack refuses for one thread stop alone: the session still moves out of processing', async () => {
    const w = stubWriter((c) => (c.method === 'assistant.threads.setStatus' ? new SlackCallError(c.method, 'invalid_arguments') : { ok: true }));
    const native = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(new Keyv()) });
    native.observe(record(), state({ phase: 'running' }));
    await native.settled();
    native.observe(record(), state({ phase: 'running', turn: 2 }));
    native.observe(record(), state({ phase: 'idle' }));
    await native.settled();
    expect(w.calls.map((c) => [c.method, c.args.status])).toEqual([
      ['agents.sessions.setStatus', 'processing'],
      ['assistant.threads.setStatus', nativeWords({ kind: 'status_working' })],
      ['agents.sessions.setStatus', 'active'],
    ]);
    expect(native.supportIn('T1')).toEqual({ kind: 'supported' });
    expect(native.size).toBe(0);
    native.close();
  });

  it('a workspace refusal learned after sessions were written moves every thread shown as processing there out of it, once', async () => {
    const w = stubWriter((c) =>
      c.method === 'assistant.threads.setStatus' && c.args.thread_ts === '2.2' ? new SlackCallError(c.method, 'not_allowed') : { ok: true },
    );
    const native = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(new Keyv()) });
    // 1.1 is processing with its loading messages written; 3.3 waits for its person.
    native.observe(record({ threadTs: '1.1' }), state({ phase: 'running' }));
    native.observe(record({ threadTs: '3.3' }), state({ phase: 'waiting' }));
    await native.settled();
    native.observe(record({ threadTs: '2.2' }), state({ phase: 'running' }));
    await native.settled();
    expect(native.supportIn('T1')).toEqual({ kind: 'refused', error: 'not_allowed' });
    const last = new Map(w.calls.filter((c) => c.method === 'agents.sessions.setStatus').map((c) => [c.args.thread_ts, c.args.status]));
    expect(Object.fromEntries(last)).toEqual({ '1.1': 'active', '2.2': 'active', '3.3': 'active' });
    const before = w.calls.length;
    native.observe(record({ threadTs: '1.1' }), state({ phase: 'terminated' }));
    await native.settled();
    expect(w.calls).toHaveLength(before);
    native.close();
  });

  it('a session written and not closed is closed when its thread is first seen ended: after a restart (from the record) or after it was forgotten', async () => {
    const kv = new Keyv();
    const records = new ThreadRecords(kv);
    await records.create(stored({ threadTs: '1.1' }));
    await records.create(stored({ threadTs: '2.2' }));
    const w = stubWriter();
    const a = new NativeStatus({ writer: w.writer, log: memoryLogger().log, store: new NativeSupportStore(kv), records });
    a.observe(record({ threadTs: '1.1' }), state({ phase: 'running' }));
    a.observe(record({ threadTs: '2.2' }), state({ phase: 'running' }));
    await a.settled();
    expect((await records.get({ team: 'T1', channel: 'C1', threadTs: '1.1' }))?.nativeOpen).toBe(true);
    // 2.2 waits for its person (forgotten once written), then ends: this process closes it.
    a.observe(record({ threadTs: '2.2' }), state({ phase: 'idle' }));
    await a.settled();
    expect(a.size).toBe(1);
    a.observe(record({ threadTs: '2.2' }), state({ phase: 'terminated' }));
    await a.settled();
    expect(w.calls.filter((c) => c.args.thread_ts === '2.2').at(-1)?.args).toEqual({ channel_id: 'C1', thread_ts: '2.2', status: 'closed' });
    expect((await records.get({ team: 'T1', channel: 'C1', threadTs: '2.2' }))?.nativeOpen).toBeUndefined();
    a.close();

    // The bot restarts; 1.1's session ended meanwhile: its first fold is already terminated.
    const w2 = stubWriter();
    const b = new NativeStatus({ writer: w2.writer, log: memoryLogger().log, store: new NativeSupportStore(kv), records });
    const one = (await records.get({ team: 'T1', channel: 'C1', threadTs: '1.1' }))!;
    const two = (await records.get({ team: 'T1', channel: 'C1', threadTs: '2.2' }))!;
    b.observe(one, state({ phase: 'terminated' }));
    b.observe(two, state({ phase: 'terminated' }));
    await b.settled();
    expect(w2.calls).toEqual([{ method: 'agents.sessions.setStatus', args: { channel_id: 'C1', thread_ts: '1.1', status: 'closed' } }]);
    expect((await records.get({ team: 'T1', channel: 'C1', threadTs: '1.1' }))?.nativeOpen).toBeUndefined();
    expect(b.size).toBe(0);
    b.close();
  });

  it('a last write that failed for a while is tried again on its own, with a backoff, until it lands; closing stops it', async () => {
    let failures = 3;
    const w = stubWriter((c) =>
      c.args.status === 'active' && failures-- > 0 ? new SlackCallError(c.method, 'fetch_failed', { transient: true }) : { ok: true },
    );
    const delays: number[] = [];
    const native = new NativeStatus({
      writer: w.writer,
      log: memoryLogger().log,
      store: new NativeSupportStore(new Keyv()),
      retryDelay: (attempt) => {
        delays.push(nativeRetryDelay(attempt));
        return 0;
      },
    });
    native.observe(record(), state({ phase: 'running' }));
    await native.settled();
    native.observe(record(), state({ phase: 'idle' }));
    // No later change comes: the loop wakes itself until `active` is written.
    await w.waitForCalls(2 + 4);
    await native.settled();
    expect(w.calls.filter((c) => c.method === 'agents.sessions.setStatus').map((c) => c.args.status)).toEqual([
      'processing',
      'active',
      'active',
      'active',
      'active',
    ]);
    expect(delays).toEqual([NATIVE_RETRY_BASE_MS, 2 * NATIVE_RETRY_BASE_MS, 4 * NATIVE_RETRY_BASE_MS]);
    expect(nativeRetryDelay(100)).toBe(NATIVE_RETRY_MAX_MS);
    expect(native.size).toBe(0);

    // Slack stays away: after close, nothing is tried again.
    const down = stubWriter(() => new SlackCallError('agents.sessions.setStatus', 'fetch_failed', { transient: true }));
    let tries = 0;
    const closing = new NativeStatus({
      writer: down.writer,
      log: memoryLogger().log,
      store: new NativeSupportStore(new Keyv()),
      retryDelay: () => {
        tries += 1;
        if (tries === 2) closing.close();
        return 0;
      },
    });
    closing.observe(record(), state({ phase: 'running' }));
    await down.waitForCalls(2);
    await closing.settled();
    await flush();
    await flush();
    expect(down.calls).toHaveLength(2);
    native.close();
  });
});

/** A thread record as the store has it, for the Home index to read. */
const stored = (over: Partial<ThreadRecord> = {}): ThreadRecord => ({
  v: 1,
  team: 'T1',
  channel: 'C1',
  threadTs: '1.1',
  owner: 'U1',
  prompt: 'fix ci',
  status: 'active',
  createdAt: Date.now(),
  ...emptyHistory(),
  ...over,
});

/** One store as several replicas share it: each gets its own ThreadRecords and HomeIndex on the same Keyv. */
function sharedStore() {
  const kv = new Keyv();
  const replica = () => {
    const records = new ThreadRecords(kv);
    return { records, index: new HomeIndex(kv, records) };
  };
  return { kv, replica };
}

describe('SessionBoard', () => {
  it('writes what the Home tab shows into the store, and tells the owner’s tab only when the state changes', async () => {
    const { replica } = sharedStore();
    const a = replica();
    const r = stored();
    await a.records.create(r);
    const changed: string[] = [];
    const board = new SessionBoard({ index: a.index, log: memoryLogger().log, onStateChange: (owner) => changed.push(owner) });
    board.observe(r, state({ phase: 'running', usage: { inputTokens: 1, outputTokens: 1 } }));
    await board.settled();
    board.observe(r, state({ phase: 'running', usage: { inputTokens: 500, outputTokens: 9, cost: { amount: '12', currency: 'USD' } } }));
    await board.settled();
    expect(changed).toEqual(['U1']);
    // Tokens and cost so far are in the thread record itself.
    expect((await a.records.get(r))?.home).toEqual({ state: 'running', inputTokens: 500, outputTokens: 9, cost: { amount: '12', currency: 'USD' } });
    await a.records.update(r, (x) => {
      x.status = 'idle';
    });
    board.observe(r, state({ phase: 'idle', usage: { inputTokens: 900, outputTokens: 9, cost: { amount: '20', currency: 'USD' } } }));
    await board.settled();
    expect(changed).toEqual(['U1', 'U1']);
    // A finished session with everything written is not kept in memory.
    expect(board.size).toBe(0);

    // Another replica (or this one after a restart) reads the same from the store.
    const b = replica();
    expect(await b.index.mine('T1', 'U1')).toMatchObject([{ state: 'idle', inputTokens: 900, prompt: 'fix ci' }]);
    expect(await b.index.running('T1')).toEqual([]);
    expect(await b.index.today('T1')).toEqual({ sessions: 1, inputTokens: 900, outputTokens: 9, cost: { amount: '20', currency: 'USD' } });
    expect(await b.index.mine('T2', 'U1')).toEqual([]);
    board.close();
  });

  it('a burst of folds while a write waits is one write of the latest, and folds that change nothing shown write nothing', async () => {
    const { replica } = sharedStore();
    const a = replica();
    const r = stored();
    await a.records.create(r);
    let writes = 0;
    const write = a.index.write.bind(a.index);
    a.index.write = (e) => {
      writes += 1;
      return write(e);
    };
    const index = a.index;
    const board = new SessionBoard({ index, log: memoryLogger().log, onStateChange: () => undefined });
    for (let i = 0; i < 20; i += 1) board.observe(r, state({ phase: 'running', usage: { inputTokens: i, outputTokens: 0 } }));
    await board.settled();
    expect(writes).toBe(2);
    for (let i = 0; i < 20; i += 1) board.observe(r, state({ phase: 'running', usage: { inputTokens: 19, outputTokens: 0 } }));
    await board.settled();
    expect(writes).toBe(2);
    expect((await a.records.get(r))?.home?.inputTokens).toBe(19);
    board.close();
  });

  it('keeps a person’s index bounded, and still lists their running sessions beyond it', async () => {
    const { replica } = sharedStore();
    const a = replica();
    const board = new SessionBoard({ index: a.index, log: memoryLogger().log, onStateChange: () => undefined });
    const running = stored({ threadTs: '0.1', createdAt: 1 });
    await a.records.create(running);
    board.observe(running, state({ phase: 'running' }));
    for (let i = 0; i < RECENT_PER_OWNER + 5; i += 1) {
      const r = stored({ threadTs: `${i + 2}.1`, createdAt: 100 + i });
      await a.records.create(r);
      await a.records.update(r, (x) => {
        x.status = 'idle';
      });
      board.observe(r, state({ phase: 'idle' }));
    }
    await board.settled();
    const mine = await a.index.mine('T1', 'U1');
    expect(mine).toHaveLength(RECENT_PER_OWNER + 1);
    expect(mine.at(-1)).toMatchObject({ threadTs: '0.1', state: 'running' });
    expect(mine[0]).toMatchObject({ threadTs: `${RECENT_PER_OWNER + 6}.1` });
    expect(await a.index.running('T1')).toMatchObject([{ threadTs: '0.1' }]);
    board.close();
  });

  it('reads states as mission control shows them', () => {
    expect(homeStateOf(state({ phase: 'running', interruptId: 'x' }), {})).toBe('stopping');
    expect(homeStateOf(state({ phase: 'terminated', outcome: 'failed' }), {})).toBe('failed');
    expect(homeStateOf(state({ phase: 'terminated', outcome: 'done' }), {})).toBe('ended');
    expect(homeStateOf(state({ phase: 'idle' }), { failure: 'no' })).toBe('failed');
  });
});

describe('HomePublisher', () => {
  const publisher = (w: ReturnType<typeof stubWriter>, index: HomeIndex) =>
    new HomePublisher({ writer: w.writer, index, isAdmin: (u) => u === 'UADMIN', log: memoryLogger().log, gapMs: 1 });

  it('publishes on open at once, then a burst of changes is one publish per concerned viewer', async () => {
    const w = stubWriter();
    const home = publisher(w, sharedStore().replica().index);
    await home.opened('U1', 'T1');
    await home.opened('UADMIN', 'T1');
    await home.opened('U2', 'T1');
    expect(w.calls.map((c) => c.args.user_id)).toEqual(['U1', 'UADMIN', 'U2']);
    for (let i = 0; i < 50; i += 1) home.sessionChanged('U1', 'T1');
    const refreshed = await w.waitForCalls(5);
    await home.settled();
    await flush();
    // U1's own tab and the admin's, once each; U2's tab shows nothing of U1's.
    expect(
      refreshed
        .slice(3)
        .map((c) => c.args.user_id)
        .sort(),
    ).toEqual(['U1', 'UADMIN']);
    expect(w.calls).toHaveLength(5);
    home.close();
  });

  it('a tab opened at one replica is refreshed by another when a session there changes state, from the store', async () => {
    const { replica } = sharedStore();
    const a = replica();
    const b = replica();
    const wa = stubWriter();
    const wb = stubWriter();
    const homeA = publisher(wa, a.index);
    const homeB = publisher(wb, b.index);
    await homeA.opened('U1', 'T1');
    expect(JSON.stringify(wa.calls[0]!.args.view)).not.toContain('fix ci');
    // The session runs at B: its board writes the store and B refreshes U1's tab.
    const r = stored();
    await b.records.create(r);
    const board = new SessionBoard({ index: b.index, log: memoryLogger().log, onStateChange: (owner, team) => homeB.sessionChanged(owner, team) });
    board.observe(r, state({ phase: 'running', usage: { inputTokens: 1200, outputTokens: 300 } }));
    const [published] = await wb.waitForCalls(1);
    expect(published!.args.user_id).toBe('U1');
    const text = JSON.stringify(published!.args.view);
    expect(text).toContain('fix ci');
    expect(text).toContain('1.5k tokens');
    await homeB.settled();
    board.close();
    homeA.close();
    homeB.close();
  });
});

describe('profiles file: suggested prompts', () => {
  const parse = (text: string) => parseAgentsConfig(text, 'agents.yml', ['read_thread', 'ask_user']);
  const FILE = (extra = '') => `
default_profile: general
profiles:
  research:
    agent: { model: claude-opus-5-5 }
    suggested_prompts:
      - { title: Research, message: Compare the queue libraries }
  general:
    agent: { model: claude-sonnet-5-5 }
    suggested_prompts:
      - { title: Fix CI, message: Fix the failing CI }${extra}
`;

  it('the default profile’s first, another profile’s with its --profile, at most Slack’s 4', () => {
    const r = parse(FILE());
    if (r.kind === 'invalid') throw new Error(r.lines.join('\n'));
    const provisioned = new Map(Object.keys(r.config.profiles).map((n) => [n, { agentId: `a_${n}`, agentVersion: 1, environmentId: `e_${n}` }]));
    const profiles = AgentProfiles.fromConfig(r.config, provisioned as never);
    expect(profiles.suggestedPrompts()).toEqual([
      { title: 'Fix CI', message: 'Fix the failing CI' },
      { title: 'Research', message: '--profile research Compare the queue libraries' },
    ]);
    const many = parse(FILE('\n      - { title: B, message: b }\n      - { title: C, message: c }\n      - { title: D, message: d }'));
    if (many.kind === 'invalid') throw new Error(many.lines.join('\n'));
    const all = AgentProfiles.fromConfig(many.config, provisioned as never).suggestedPrompts();
    expect(all.map((p) => p.title)).toEqual(['Fix CI', 'B', 'C', 'D']);
  });

  it('more than 4 in one profile, or a title Slack would not show, is a line in the file’s errors', () => {
    const five = parse(
      FILE(
        '\n      - { title: B, message: b }\n      - { title: C, message: c }\n      - { title: D, message: d }\n      - { title: E, message: e }',
      ),
    );
    expect(five.kind).toBe('invalid');
    if (five.kind === 'invalid') expect(five.lines.join('\n')).toContain('expected at most 4 suggested prompts');
    const long = parse(FILE(`\n      - { title: ${'x'.repeat(76)}, message: b }`));
    expect(long.kind).toBe('invalid');
  });
});

describe('the inbound edge lets the agent events through only when Bolt’s listeners can read them', () => {
  const envelope = (event: unknown) => ({ type: 'event_callback', team_id: 'T1', event_id: 'Ev1', event });
  it('dispatches agent_session_stopped, assistant_thread_started and app_home_opened; acknowledges broken ones', () => {
    expect(readInbound(envelope({ type: 'agent_session_stopped', channel: 'C1', user: 'U1', thread_ts: '1.2' }), LISTENED).kind).toBe('dispatch');
    expect(
      readInbound(envelope({ type: 'assistant_thread_started', assistant_thread: { user_id: 'U1', channel_id: 'D1', thread_ts: '1.2' } }), LISTENED)
        .kind,
    ).toBe('dispatch');
    expect(readInbound(envelope({ type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home' }), LISTENED).kind).toBe('dispatch');
    expect(readInbound(envelope({ type: 'agent_session_stopped', channel: 'C1', user: 'U1' }), LISTENED).kind).toBe('acknowledge');
    expect(readInbound(envelope({ type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'files' }), LISTENED).kind).toBe('acknowledge');
  });

  it('lets through the feedback, Home Stop and Stop all clicks and the feedback dialog', () => {
    for (const id of ['answer_feedback', 'home_stop', 'home_stop_all']) expect(LISTENED.actions(id)).toBe(true);
    expect(LISTENED.views).toContain('feedback_note');
  });
});
