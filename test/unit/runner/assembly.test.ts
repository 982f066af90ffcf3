import { describe, expect, it } from 'vitest';
import { describeApiError } from '../../../src/agents/api-errors.js';
import type { AgentEvent } from '../../../src/agents/events.js';
import type { FollowOptions } from '../../../src/agents/session-events.js';
import type { ToolContext } from '../../../src/agents/tools/custom-tool.js';
import { assembleParts } from '../../../src/bridge/runner/assembly.js';
import type { SessionPorts } from '../../../src/bridge/runner/session-ports.js';
import { foldInPlace, initialState, type PendingCustomTool, type ThreadState } from '../../../src/bridge/thread-state.js';
import type { ThreadView } from '../../../src/delivery/thread-delivery.js';
import type { ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';
import { memoryStore, sessionRecord } from './records.js';
import { memoryWire, serverError } from './wire.js';

const idle = (id: string) => ({ id, type: 'session.status_idle', processed_at: '2026-01-01T00:00:01Z' }) as unknown as AgentEvent;
const running = (id: string) => ({ id, type: 'session.status_running', processed_at: '2026-01-01T00:00:00Z' }) as unknown as AgentEvent;

/** The parts over in-memory ports, with a host that folds for real (as the runner does). */
function setup(o: { record?: Partial<ThreadRecord> } = {}) {
  const first = sessionRecord(o.record);
  const store = memoryStore(first);
  const w = memoryWire();
  const log: string[] = [];
  const follows: Array<{ opts: FollowOptions; verdicts: string[]; end: (error?: unknown) => void }> = [];
  const observed: Array<{ status: ThreadRecord['status']; failure: string | undefined }> = [];
  const toolRuns: Array<{ call: PendingCustomTool; awaitAnswer: ToolContext['awaitAnswer'] }> = [];
  const delivery: { requests: number; idle: boolean; view?: () => ThreadView; onIdle: () => void } = {
    requests: 0,
    idle: true,
    onIdle: () => undefined,
  };
  const tracked: Promise<unknown>[] = [];
  let quietAsked = 0;
  let state: ThreadState = initialState();
  const ports: SessionPorts = {
    wire: w.wire,
    follow: (opts) =>
      new Promise<void>((resolve, reject) => {
        follows.push({ opts, verdicts: [], end: (error) => (error ? reject(error) : resolve()) });
        opts.onReady?.();
      }),
    counted: (batch) => void log.push(`counted ${batch.map((e) => e.id).join(',')}`),
    setCap: async () => undefined,
    archive: async () => undefined,
    shareFiles: async () => undefined,
    react: async () => undefined,
    write: store.write,
    runTool: async (call, awaitAnswer) => {
      toolRuns.push({ call, awaitAnswer });
      return { content: [{ type: 'text', text: 'done' }], is_error: false };
    },
    delivery: (view, onIdle) => {
      delivery.view = view;
      delivery.onIdle = onIdle;
      return {
        request: () => {
          delivery.requests += 1;
        },
        get idle() {
          return delivery.idle;
        },
        settled: async () => undefined,
        close: () => undefined,
        deferStatus: () => undefined,
        adoptPosted: async () => undefined,
      };
    },
    observe: (record, _state) => void observed.push({ status: record.status, failure: record.failure }),
  };
  const parts = assembleParts(first, ports, {
    state: () => state,
    fold: (events) => {
      log.push(`folded ${events.map((e) => ('id' in e ? e.id : 'local')).join(',')}`);
      for (const e of events) state = foldInPlace(state, e).state;
    },
    track: (work) => void tracked.push(work),
    mayBeQuiet: () => {
      quietAsked += 1;
    },
    log: memoryLogger('silent').log,
    signal: new AbortController().signal,
  });
  /** Hands a batch to the open stream; returns what the follower told the stream. */
  const push = (...events: AgentEvent[]) => {
    const f = follows.at(-1)!;
    const verdict = f.opts.onEvents(events);
    f.verdicts.push(verdict);
    return verdict;
  };
  return {
    parts,
    store,
    w,
    log,
    follows,
    observed,
    toolRuns,
    delivery,
    push,
    done: () => Promise.all(tracked),
    quietAsked: () => quietAsked,
    setState: (s: ThreadState) => {
      state = s;
    },
  };
}

describe('runner assembly', () => {
  it('a batch the stream brings is counted, then folded by the host', async () => {
    const s = setup();
    await s.parts.stream.open();
    s.push(running('sevt_1'));
    expect(s.log).toEqual(['counted sevt_1', 'folded sevt_1']);
  });

  it('the follower asks the hold: an idle session’s stream stays open only while an intent holds it', async () => {
    const s = setup();
    let finish!: () => void;
    const held = s.parts.hold.busy(
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    await s.parts.stream.open();
    expect(s.push(idle('sevt_1'))).toBe('continue');
    finish();
    await held;
    // Let go while idle: the stream is told to stop and the owner is asked whether it is quiet.
    expect(s.parts.stream.closed).toBe(false);
    s.follows[0]!.end();
    await s.parts.stream.wound();
    expect(s.parts.stream.closed).toBe(true);
    expect(s.quietAsked()).toBeGreaterThan(0);
    await s.parts.stream.open();
    expect(s.push(idle('sevt_2'))).toBe('stop');
  });

  it('a stream that fails for good is said in the thread: the record fails with the API’s words and the watch is told', async () => {
    const s = setup();
    const opened = s.parts.stream.open();
    await opened;
    const error = serverError();
    s.follows[0]!.end(error);
    await s.parts.stream.wound();
    await s.done();
    const words = describeApiError(error, 'following the session').words;
    expect(s.store.stored()).toMatchObject({ status: 'failed', failure: words });
    expect(s.store.stored().notices.map((n) => n.text)).toEqual([words]);
    expect(s.observed).toEqual([{ status: 'failed', failure: words }]);
    expect(s.delivery.requests).toBeGreaterThan(0);
  });

  it('a custom tool call runs through the ports, its result goes out on the wire, and its question waits on the decisions desk', async () => {
    const s = setup();
    const call: PendingCustomTool = { eventId: 'sevt_tool', name: 'ask_user', input: {} };
    s.parts.tools.answer([call]);
    await Promise.all(s.parts.tools.current());
    expect(s.toolRuns.map((r) => r.call)).toEqual([call]);
    expect(s.w.sends[0]![0]).toMatchObject({ type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_tool' });
    // The answer the tool awaits is the one the record holds for this call (the decisions desk's).
    await s.parts.record.update((r) => {
      r.answers.sevt_other = { user: 'U2', text: 'red', at: 1 };
      r.answers.sevt_tool = { user: 'U1', text: 'blue', at: 2 };
    });
    await expect(s.toolRuns[0]!.awaitAnswer()).resolves.toEqual({ user: 'U1', text: 'blue' });
  });

  it('delivery going idle writes the phase into the record and asks whether the runner is quiet', async () => {
    const s = setup();
    s.setState({ ...initialState(), phase: 'idle' });
    const asked = s.quietAsked();
    s.delivery.onIdle();
    await s.done();
    expect(s.store.stored().status).toBe('idle');
    expect(s.quietAsked()).toBe(asked + 1);
  });

  it('the view delivery renders is the folded state with the record: a note shows once written', async () => {
    const s = setup();
    await s.parts.record.note('the bridge says hello');
    expect(s.delivery.requests).toBe(1);
    const view = s.delivery.view!();
    expect(view.threadTs).toBe('100.1');
    expect(JSON.stringify(view.blocks)).toContain('the bridge says hello');
  });
});
