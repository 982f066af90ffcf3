import { describe, expect, it } from 'vitest';
import { answerOnce } from '../../../src/bridge/runner/answer-once.js';
import { ToolDesk, type RunTool } from '../../../src/bridge/runner/tool-desk.js';
import type { PendingCustomTool } from '../../../src/bridge/thread-state.js';
import { memoryLogger } from '../../support/log-sink.js';
import { badRequest, memoryWire, serverError } from './wire.js';

const call: PendingCustomTool = { eventId: 'sevt_tool', name: 'read_thread', input: {} };

function desk(w = memoryWire(), run?: RunTool, signal = new AbortController().signal) {
  const runs: string[] = [];
  const notes: string[] = [];
  const sink = memoryLogger();
  let ended!: () => void;
  const allEnded = () => new Promise<void>((resolve) => (ended = resolve));
  let waiting = allEnded();
  const tools = new ToolDesk({
    run:
      run ??
      (async (c) => {
        runs.push(c.eventId);
        return { content: [{ type: 'text', text: 'the thread says hi' }], is_error: false };
      }),
    send: answerOnce(w.wire, signal),
    note: async (words) => void notes.push(words),
    log: sink.log,
    signal,
    onRunEnded: () => ended(),
  });
  const settled = async () => {
    await waiting;
    waiting = allEnded();
  };
  return { tools, runs, notes, w, sink, settled };
}

describe('tool desk', () => {
  it('answers a call once even when its echo comes twice', async () => {
    const d = desk();
    d.tools.answer([call]);
    d.tools.answer([call]);
    expect(d.tools.busy).toBe(true);
    await d.settled();
    // The fold still shows the call pending until the result's echo arrives.
    d.tools.answer([call]);
    expect(d.tools.busy).toBe(false);
    expect(d.runs).toEqual(['sevt_tool']);
    expect(d.w.sends).toHaveLength(1);
    expect(d.w.sends[0]![0]).toMatchObject({ type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_tool', is_error: false });
  });

  it('a 500 after the result landed is found in the history: sent once, no note', async () => {
    const d = desk();
    d.w.failNext(serverError(), { landed: true });
    d.tools.answer([call]);
    await d.settled();
    expect(d.w.sends).toHaveLength(1);
    expect(d.notes).toEqual([]);
    expect(d.sink.lines().some((l) => l.msg === 'custom tool was already answered')).toBe(true);
  });

  it('a 400 for a call answered elsewhere is found in the history and not retried', async () => {
    const d = desk();
    d.w.history.push({ id: 'sevt_other', type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_tool' });
    d.w.failNext(badRequest(), { landed: false });
    d.tools.answer([call]);
    await d.settled();
    d.tools.answer([call]);
    expect(d.w.sends).toHaveLength(1);
    expect(d.notes).toEqual([]);
    expect(d.sink.lines().some((l) => l.msg === 'custom tool was already answered')).toBe(true);
  });

  it('a 400 with no answer in the history is said in the thread, and the call may be tried again', async () => {
    const d = desk();
    d.w.failNext(badRequest(), { landed: false });
    d.tools.answer([call]);
    await d.settled();
    expect(d.notes).toHaveLength(1);
    expect(d.notes[0]).toContain('read_thread');
    d.tools.answer([call]);
    await d.settled();
    expect(d.runs).toEqual(['sevt_tool', 'sevt_tool']);
    expect(d.w.history.filter((e) => e.type === 'user.custom_tool_result')).toHaveLength(1);
  });

  it('a tool cut short by shutdown is not answered (the next start runs it again)', async () => {
    const stop = new AbortController();
    const d = desk(
      memoryWire(),
      async () => {
        stop.abort();
        return { content: [{ type: 'text', text: 'late' }], is_error: false };
      },
      stop.signal,
    );
    d.tools.answer([call]);
    await d.settled();
    expect(d.w.sends).toEqual([]);
  });
});
