import { describe, expect, it } from 'vitest';
import { parseAgentEvent } from '../../src/agents/events.js';
import { fold, initialState, type LocalEvent, type ThreadState } from '../../src/bridge/thread-state.js';
import { agentErrorWords, detailWords } from '../../src/words/agent-state.js';

let n = 0;
const at = () => new Date(Date.UTC(2026, 10, 26, 10, 0, 0, n++)).toISOString();
const ev = (raw: Record<string, unknown>) => parseAgentEvent({ id: `sevt_${n}`, processed_at: at(), ...raw });

function run(events: Array<ReturnType<typeof ev> | LocalEvent>, from: ThreadState = initialState()): ThreadState {
  return events.reduce((s, e) => fold(s, e).state, from);
}

describe('fold', () => {
  it('folds a normal turn into text, tools, usage and done', () => {
    const s = run([
      { type: 'local.user_message_sent', id: 'u1' },
      ev({ type: 'user.message', id: 'u1', content: [{ type: 'text', text: 'hi' }] }),
      ev({ type: 'session.status_running' }),
      ev({ type: 'agent.tool_use', id: 't1', name: 'bash', input: { command: 'ls' } }),
      ev({ type: 'agent.tool_result', tool_use_id: 't1' }),
      ev({ type: 'agent.message', id: 'm1', content: [{ type: 'text', text: 'Done.' }] }),
      ev({ type: 'span.model_request_end', model_usage: { input_tokens: 100, output_tokens: 20 } }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null }),
    ]);
    expect(s.phase).toBe('idle');
    expect(s.outcome).toBe('done');
    expect(s.items).toEqual([
      { kind: 'tools', id: 't1', tools: [{ eventId: 't1', name: 'bash', input: { command: 'ls' }, status: 'done' }], turn: 1 },
      { kind: 'text', id: 'm1', text: 'Done.', turn: 1 },
      { kind: 'usage', id: 'turn1', turn: 1, inputTokens: 100, outputTokens: 20, seconds: 0 },
    ]);
    expect(s.turn).toBe(1);
    expect(s.turnOpen).toBe(false);
    expect(s.turnStartedBy).toBe('u1');
    expect(s.usage).toEqual({ inputTokens: 100, outputTokens: 20 });
    expect(s.toolCalls).toBe(1);
  });

  it('does not end a turn on an idle seen before our message was processed', () => {
    const s = run([{ type: 'local.user_message_sent', id: 'u1' }, ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } })]);
    expect(s.phase).toBe('running');
    expect(s.outcome).toBeUndefined();
  });

  it('treats the queued and processed echoes of one user message as one message', () => {
    const s = run([
      ev({ type: 'user.message', id: 'u1', processed_at: null, content: [] }),
      ev({ type: 'user.message', id: 'u1', content: [] }),
      { type: 'local.user_message_sent', id: 'u1' },
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } }),
    ]);
    expect(s.queuedUserMessages).toEqual([]);
    expect(s.phase).toBe('idle');
  });

  it('remembers that an interrupt ended the turn (the API says only end_turn)', () => {
    const s = run([
      { type: 'local.user_message_sent', id: 'u1' },
      ev({ type: 'user.message', id: 'u1', content: [] }),
      { type: 'local.interrupt_sent', id: 'i1' },
      ev({ type: 'user.interrupt', id: 'i1' }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } }),
    ]);
    expect(s.outcome).toBe('stopped');
    expect(s.stoppedBy).toBe('i1');
    expect(s.interruptId).toBeUndefined();
  });

  it('ignores a late note of an interrupt whose turn already ended, and a late note of a processed message', () => {
    const ended = run([
      { type: 'local.user_message_sent', id: 'u1' },
      ev({ type: 'user.message', id: 'u1', content: [] }),
      ev({ type: 'user.interrupt', id: 'i1' }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } }),
      { type: 'local.interrupt_sent', id: 'i1' },
    ]);
    expect(ended.interruptId).toBeUndefined();
    expect(ended.outcome).toBe('stopped');
    const raced = run([
      ev({ type: 'user.message', id: 'u2', content: [] }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } }),
      { type: 'local.user_message_sent', id: 'u2' },
    ]);
    expect(raced.phase).toBe('idle');
  });

  it('keeps the turn open while a custom tool waits, then clears it when answered', () => {
    const waiting = run([
      ev({ type: 'user.message', id: 'u1', content: [] }),
      ev({ type: 'agent.custom_tool_use', id: 'c1', name: 'read_thread', input: {} }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'requires_action', event_ids: ['c1'] } }),
    ]);
    expect(waiting.phase).toBe('waiting');
    expect(waiting.pendingCustomTools).toEqual([{ eventId: 'c1', name: 'read_thread', input: {} }]);
    const answered = run([ev({ type: 'user.custom_tool_result', custom_tool_use_id: 'c1' })], waiting);
    expect(answered.pendingCustomTools).toEqual([]);
  });

  it('maps stop reasons and errors to outcomes in words', () => {
    const exhausted = run([
      ev({ type: 'session.error', error: { type: 'model_overloaded_error', message: 'busy', retry_status: { type: 'exhausted' } } }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'retries_exhausted' } }),
    ]);
    expect(exhausted.outcome).toBe('failed');
    expect(exhausted.items).toEqual([{ kind: 'error', id: expect.any(String), error: { type: 'model_overloaded_error', message: 'busy' }, turn: 0 }]);
    expect(agentErrorWords({ type: 'model_overloaded_error', message: 'busy' })).toBe('The model is overloaded right now: busy');
    // The error's words stay on the status line: retries_exhausted does not overwrite them.
    expect(detailWords(exhausted.detail!)).toBe('The model is overloaded right now: busy');

    const retrying = run([ev({ type: 'session.error', error: { type: 'model_overloaded_error', message: '', retry_status: { type: 'retrying' } } })]);
    expect(retrying.items).toEqual([]);
    expect(detailWords(retrying.detail!)).toBe('The model is overloaded right now; retrying');

    expect(run([ev({ type: 'session.status_idle', stop_reason: { type: 'budget_reached' } })]).outcome).toBe('budget');
    expect(run([ev({ type: 'session.status_idle', stop_reason: { type: 'refusal' } })]).outcome).toBe('refused');
    expect(run([ev({ type: 'session.status_terminated' })]).phase).toBe('terminated');
  });

  it('logs and ignores unknown or malformed events without changing what is shown', () => {
    const before = run([ev({ type: 'agent.message', id: 'm1', content: [{ type: 'text', text: 'x' }] })]);
    const unknown = fold(before, parseAgentEvent({ type: 'agent.future_thing', id: 'z' }));
    expect(unknown.ignored).toEqual({ type: 'agent.future_thing' });
    expect(unknown.state.items).toEqual(before.items);
    const malformed = fold(before, parseAgentEvent({ type: 'agent.tool_use', id: 'z' }));
    expect(malformed.ignored?.type).toBe('agent.tool_use');
    expect(malformed.ignored?.problem).toContain('name');
    expect(fold(before, parseAgentEvent(null)).ignored).toBeDefined();
  });

  it('shows the message being written from deltas, and drops the preview when the final one lands or the request ends', () => {
    const writing = run([
      ev({ type: 'user.message', id: 'u1', content: [] }),
      parseAgentEvent({ type: 'event_start', event: { type: 'agent.message', id: 'm1' } }),
      parseAgentEvent({ type: 'event_delta', event_id: 'm1', delta: { type: 'content_delta', content: { type: 'text', text: 'Hel' } } }),
      parseAgentEvent({ type: 'event_delta', event_id: 'm1', delta: { type: 'content_delta', content: { type: 'text', text: 'lo' } } }),
    ]);
    expect(writing.preview).toEqual({ id: 'm1', text: 'Hello' });
    const final = run([ev({ type: 'agent.message', id: 'm1', content: [{ type: 'text', text: 'Hello' }] })], writing);
    expect(final.preview).toBeUndefined();
    expect(final.items).toEqual([{ kind: 'text', id: 'm1', text: 'Hello', turn: 1 }]);
    const cut = run([ev({ type: 'span.model_request_end', model_usage: null })], writing);
    expect(cut.preview).toBeUndefined();
    expect(cut.items).toEqual([]);
  });

  it('numbers turns: a steer mid-run stays in the turn, a message after idle opens the next', () => {
    const s = run([
      ev({ type: 'user.message', id: 'u1', content: [] }),
      ev({ type: 'agent.tool_use', id: 't1', name: 'bash', input: {} }),
      ev({ type: 'user.message', id: 'u2', content: [] }),
      ev({ type: 'agent.tool_use', id: 't2', name: 'read', input: {} }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } }),
      ev({ type: 'user.message', id: 'u3', content: [] }),
      ev({ type: 'agent.tool_use', id: 't3', name: 'grep', input: {} }),
    ]);
    expect(s.turn).toBe(2);
    expect(s.turnStartedBy).toBe('u3');
    expect(s.items.map((i) => (i.kind === 'tools' ? `${i.turn}:${i.tools.map((t) => t.name).join(',')}` : i.kind))).toEqual([
      '1:bash,read',
      // Turn 1 reported no usage: its answer closes with the feedback buttons alone.
      'feedback',
      '2:grep',
    ]);
  });

  it('closes each finished answer with feedback: on the usage line when there is one, alone otherwise, and not for a stopped turn', () => {
    const idle = () => ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null });
    const turn = (id: string) => [
      { type: 'local.user_message_sent', id } as const,
      ev({ type: 'user.message', id, content: [{ type: 'text', text: id }] }),
    ];
    const answer = (id: string) => ev({ type: 'agent.message', id, content: [{ type: 'text', text: `answer ${id}` }] });
    const spanEnd = ev({ type: 'span.model_request_end', model_usage: { input_tokens: 10, output_tokens: 1 } });
    const s = run([...turn('u1'), answer('m1'), idle(), ...turn('u2'), answer('m2'), spanEnd, idle(), idle()]);
    expect(s.items.map((i) => `${i.kind}:${i.turn}`)).toEqual(['text:1', 'feedback:1', 'text:2', 'usage:2']);
    // A turn the person stopped is not a finished answer.
    const stopped = run([...turn('u3'), { type: 'local.interrupt_sent', id: 'i1' } as const, ev({ type: 'user.interrupt', id: 'i1' }), idle()]);
    expect(stopped.outcome).toBe('stopped');
    expect(stopped.items.filter((i) => i.kind === 'feedback')).toEqual([]);
  });

  it('is idempotent for a replayed agent message', () => {
    const m = ev({ type: 'agent.message', id: 'm1', content: [{ type: 'text', text: 'once' }] });
    expect(run([m, m]).items).toHaveLength(1);
  });

  it('counts usage once whichever source comes first, and gives each turn its own usage line', () => {
    const snapshot = (input: number, output: number) => ev({ type: 'session.usage', usage: { input_tokens: input, output_tokens: output } });
    const spanEnd = (input: number, output: number) =>
      ev({ type: 'span.model_request_end', model_usage: { input_tokens: input, output_tokens: output } });
    const idle = () => ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null });
    const turn = (id: string) => [
      { type: 'local.user_message_sent', id } as const,
      ev({ type: 'user.message', id, content: [{ type: 'text', text: id }] }),
    ];
    // Snapshot mid-request, then the span for the same request: 100/10, not 200/20.
    const one = run([...turn('u1'), snapshot(100, 10), spanEnd(100, 10), idle()]);
    expect(one.usage).toMatchObject({ inputTokens: 100, outputTokens: 10 });
    // Span first, snapshot later (with cost): still counted once.
    const two = run(
      [
        ...turn('u2'),
        spanEnd(50, 5),
        ev({ type: 'session.usage', usage: { input_tokens: 150, output_tokens: 15, list_cost: { amount: '12', currency: 'USD' } } }),
        idle(),
      ],
      one,
    );
    expect(two.usage).toEqual({ inputTokens: 150, outputTokens: 15, cost: { amount: '12', currency: 'USD' } });
    const lines = two.items.filter((i) => i.kind === 'usage');
    expect(lines.map((l) => l.kind === 'usage' && [l.turn, l.inputTokens, l.outputTokens, l.sessionCost?.amount])).toEqual([
      [1, 100, 10, undefined],
      [2, 50, 5, '12'],
    ]);
  });
});

describe('fold: spend caps', () => {
  const cap = (amount: string) => ({ type: 'limit', max_list_cost: { amount, currency: 'USD' } });

  it('knows the cap from usage and updates, stops at budget_reached with a budget item, and a resume reopens the turn', () => {
    const paused = run([
      { type: 'local.user_message_sent', id: 'u1' },
      ev({ type: 'user.message', id: 'u1', content: [{ type: 'text', text: 'spend' }] }),
      ev({ type: 'session.status_running' }),
      ev({
        type: 'session.usage',
        usage: { input_tokens: 400_000, output_tokens: 0, list_cost: { amount: '120', currency: 'USD' } },
        budget: cap('100'),
      }),
      ev({ type: 'session.status_idle', id: 'idle1', stop_reason: { type: 'budget_reached' }, stop_details: null }),
    ]);
    expect(paused.budget).toEqual({ amount: '100', currency: 'USD' });
    expect(paused).toMatchObject({ phase: 'idle', outcome: 'budget', turnOpen: false });
    expect(paused.items.filter((i) => i.kind === 'budget')).toEqual([
      { kind: 'budget', id: 'idle1', turn: 1, cap: { amount: '100', currency: 'USD' }, spent: { amount: '120', currency: 'USD' } },
    ]);

    const resumed = run(
      [
        ev({ type: 'session.updated', budget: cap('200') }),
        ev({ type: 'session.status_running' }),
        ev({ type: 'agent.message', id: 'm2', content: [{ type: 'text', text: 'Going on.' }] }),
      ],
      paused,
    );
    expect(resumed.budget).toEqual({ amount: '200', currency: 'USD' });
    expect(resumed).toMatchObject({ phase: 'running', turnOpen: true, turn: 1 });
    const done = run([ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null })], resumed);
    expect(done).toMatchObject({ phase: 'idle', outcome: 'done', turn: 1 });
    // A removed budget reads as none.
    expect(run([ev({ type: 'session.updated', budget: null })], done).budget).toBeNull();
  });
});
