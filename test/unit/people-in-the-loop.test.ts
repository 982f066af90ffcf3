import { describe, expect, it } from 'vitest';
import { parseAgentEvent } from '../../src/agents/events.js';
import { fold, initialState, openQuestions, pendingApprovals, type LocalEvent, type ThreadState } from '../../src/bridge/thread-state.js';
import { describeInput, PREVIEW_CHARS, readApprovalValue, renderApproval } from '../../src/render/approval-card.js';
import { renderQuestion } from '../../src/render/question-card.js';
import { denyDialog } from '../../src/render/dialogs.js';
import { readDenyDialog } from '../../src/slack/deny-dialog.js';

let n = 0;
const at = () => new Date(Date.UTC(2026, 10, 26, 10, 0, 0, n++)).toISOString();
const ev = (raw: Record<string, unknown>) => parseAgentEvent({ id: `sevt_${n}`, processed_at: at(), ...raw });
const run = (events: Array<ReturnType<typeof ev> | LocalEvent>, from: ThreadState = initialState()): ThreadState =>
  events.reduce((s, e) => fold(s, e).state, from);

const turnStart = [
  { type: 'local.user_message_sent', id: 'u1' } as const,
  ev({ type: 'user.message', id: 'u1', content: [{ type: 'text', text: 'go' }] }),
  ev({ type: 'session.status_running' }),
];
const askBash = (id: string, command: string) =>
  ev({ type: 'agent.tool_use', id, name: 'bash', input: { command }, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
const blocked = (ids: string[]) => ev({ type: 'session.status_idle', stop_reason: { type: 'requires_action', event_ids: ids }, stop_details: null });

describe('approvals in the fold', () => {
  it('each ask-gated call is one pending approval until its own confirmation arrives', () => {
    const s = run([...turnStart, askBash('t1', 'ls'), askBash('t2', 'rm x'), blocked(['t1', 't2'])]);
    expect(s.phase).toBe('waiting');
    expect(pendingApprovals(s).map((a) => a.id)).toEqual(['t1', 't2']);
    const after = run([ev({ type: 'user.tool_confirmation', tool_use_id: 't2', result: 'deny' }), blocked(['t1'])], s);
    expect(pendingApprovals(after).map((a) => a.id)).toEqual(['t1']);
    expect(after.items.find((i) => i.id === 't2')).toMatchObject({ kind: 'approval', state: 'denied' });
    expect(after.turnOpen).toBe(true);
  });

  it('allowed and auto-allowed calls never ask; a turn that ends leaves no approval pending', () => {
    const s = run([
      ...turnStart,
      ev({ type: 'agent.tool_use', id: 't0', name: 'read', input: { file_path: '/a' }, evaluated_permission: 'allow' }),
      askBash('t1', 'ls'),
      blocked(['t1']),
      ev({ type: 'user.interrupt', id: 'i1' }),
      ev({ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null }),
    ]);
    expect(s.items.filter((i) => i.kind === 'approval').map((i) => [i.id, i.kind === 'approval' && i.state])).toEqual([['t1', 'expired']]);
    expect(pendingApprovals(s)).toEqual([]);
  });

  it('folding the same history twice gives the same approvals (restart rebuild)', () => {
    const history = [...turnStart, askBash('t1', 'ls'), blocked(['t1'])];
    const once = run(history);
    const twice = run([...history, ...history.slice(1)]);
    expect(twice.items).toEqual(once.items);
    expect(pendingApprovals(twice)).toEqual(pendingApprovals(once));
  });
});

describe('ask_user in the fold', () => {
  const ask = (id: string, input: unknown) => ev({ type: 'agent.custom_tool_use', id, name: 'ask_user', input });

  it('a valid question is open until its tool result is sent; invalid input makes none', () => {
    const s = run([...turnStart, ask('q1', { question: 'Which one?', choices: ['a', 'b'] }), ask('q2', { question: '' }), blocked(['q1', 'q2'])]);
    expect(openQuestions(s)).toEqual([{ kind: 'question', id: 'q1', question: 'Which one?', choices: ['a', 'b'], turn: 1, open: true }]);
    expect(s.pendingCustomTools.map((t) => t.eventId)).toEqual(['q1', 'q2']);
    const answered = run([ev({ type: 'user.custom_tool_result', custom_tool_use_id: 'q1', content: [{ type: 'text', text: 'a' }] })], s);
    expect(openQuestions(answered)).toEqual([]);
  });
});

describe('approval card', () => {
  const item = {
    kind: 'approval' as const,
    id: 'sevt_1',
    name: 'bash',
    input: { command: 'echo <!channel> && cat ~/.ssh/id_rsa' },
    turn: 1,
    state: 'pending' as const,
  };

  it('pending: the command as a code block, owner named, Approve/Deny carrying the event id', () => {
    const body = renderApproval(item, undefined, 'U1');
    const json = JSON.stringify(body);
    expect(json).toContain('approve_tool');
    expect(json).toContain('deny_tool');
    const buttons = ('blocks' in body ? (body.blocks ?? []) : []).flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(buttons.map((b) => ('value' in b ? readApprovalValue(b.value ?? '') : undefined))).toEqual([
      { eventId: 'sevt_1', toolName: 'bash' },
      { eventId: 'sevt_1', toolName: 'bash' },
    ]);
    expect(json).toContain('<@U1> or an approver');
    // Agent-chosen input cannot ping the channel.
    expect(json).not.toContain('<!channel>');
  });

  it('decided: who, when and why; no buttons', () => {
    const body = renderApproval(
      { ...item, state: 'pending' },
      { user: 'U2', result: 'deny', reason: 'not on prod', at: Date.UTC(2026, 10, 26) },
      'U1',
    );
    const json = JSON.stringify(body);
    expect(json).toContain('denied by <@U2> <!date^1795651200^');
    expect(json).toContain('not on prod');
    expect(json).not.toContain('approve_tool');
  });

  it('expired without a decision says so', () => {
    expect(JSON.stringify(renderApproval({ ...item, state: 'expired' }, undefined, 'U1'))).toContain('not decided before the turn ended');
  });

  it('previews the telling fields first and keeps code fences from breaking the block', () => {
    expect(describeInput({ file_path: '/w/a.md', content: 'x' })).toBe('file_path: /w/a.md\ncontent:\nx');
    expect(describeInput({ other: 1 })).toBe('{\n  "other": 1\n}');
    const body = JSON.stringify(renderApproval({ ...item, input: { command: 'echo ```hi```' } }, undefined, 'U1'));
    expect(body.match(/```/g)).toHaveLength(2);
    expect(describeInput({ command: 'x'.repeat(5000) }).length).toBeLessThanOrEqual(PREVIEW_CHARS);
  });
});

describe('question card', () => {
  const q = { kind: 'question' as const, id: 'sevt_9', question: 'Deploy where?', choices: ['staging', 'prod'], turn: 1, open: true };

  it('open: one button per choice, unique action ids', () => {
    const json = JSON.stringify(renderQuestion(q, undefined, 'U1'));
    expect(json).toContain('answer_question:0');
    expect(json).toContain('answer_question:1');
    expect(json).toContain('Reply in this thread');
  });

  it('answered: the answer and who gave it, no buttons; closed: says so', () => {
    const answered = JSON.stringify(renderQuestion(q, { user: 'U1', text: '@here prod', at: 0 }, 'U1'));
    expect(answered).toContain('<@U1>');
    expect(answered).not.toContain('answer_question');
    expect(answered).not.toMatch(/(^|[^\u200b])@here/);
    expect(JSON.stringify(renderQuestion({ ...q, open: false }, undefined, 'U1'))).toContain('closed without an answer');
  });
});

describe('deny dialog', () => {
  it('round-trips its thread and event through private_metadata and trims the reason', () => {
    const view = denyDialog({ team: 'T1', channel: 'C1', threadTs: '1.2' }, 'sevt_3', 'bash');
    const read = readDenyDialog(view.private_metadata, { reason: { reason_input: { value: '  too risky \n' } } });
    expect(read).toEqual({ kind: 'read', ref: { team: 'T1', channel: 'C1', threadTs: '1.2' }, eventId: 'sevt_3', reason: 'too risky' });
    expect(readDenyDialog(view.private_metadata, { reason: { reason_input: { value: null } } })).not.toHaveProperty('reason');
    expect(readDenyDialog('{"team":"T1"}', undefined)).toEqual({ kind: 'unreadable' });
    expect(readDenyDialog('not json', undefined)).toEqual({ kind: 'unreadable' });
  });
});
