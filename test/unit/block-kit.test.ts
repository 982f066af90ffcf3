import { describe, expect, it } from 'vitest';
import { approvalValue, readApprovalValue, renderApproval } from '../../src/render/approval-card.js';
import type { Button, KnownBlock } from '../../src/render/block-kit.js';
import { choiceValue, readChoiceValue } from '../../src/render/question-card.js';
import { renderRootCard } from '../../src/render/root-card.js';
import { SLACK_LIMITS } from '../../src/render/slack-limits.js';
import { initialState } from '../../src/bridge/thread-state.js';

const buttonsOf = (blocks: readonly KnownBlock[] | undefined): Button[] =>
  (blocks ?? []).flatMap((b) => (b.type === 'actions' ? b.elements.filter((e): e is Button => e.type === 'button') : []));

describe('approval button values', () => {
  it('carry the event id and the tool name, read back as they were written', () => {
    expect(readApprovalValue(approvalValue({ eventId: 'sevt_1', toolName: 'mcp__github__create_issue' }))).toEqual({
      eventId: 'sevt_1',
      toolName: 'mcp__github__create_issue',
    });
  });

  it('read a card posted before the value was JSON as its bare event id', () => {
    expect(readApprovalValue('sevt_old')).toEqual({ eventId: 'sevt_old' });
  });

  it('refuse what they did not write', () => {
    for (const value of ['', '{', '{"t":"bash"}', '{"e":""}', '{"e":3}']) expect(readApprovalValue(value)).toBeUndefined();
  });

  it('stay within Slack’s button value limit whatever the tool is called', () => {
    const name = '"\u0001'.repeat(5_000);
    const body = renderApproval({ kind: 'approval', id: 'sevt_1', name, input: {}, turn: 1, state: 'pending' }, undefined, 'U1');
    const values = buttonsOf('blocks' in body ? body.blocks : undefined).map((b) => b.value ?? '');
    expect(values).toHaveLength(2);
    for (const value of values) {
      expect(value.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonValue);
      expect(readApprovalValue(value)?.eventId).toBe('sevt_1');
    }
    // An event id longer than any the API mints leaves no room for the name: the id is kept.
    const long = 'e'.repeat(SLACK_LIMITS.buttonValue - 20);
    expect(readApprovalValue(approvalValue({ eventId: long, toolName: 'x'.repeat(100) }))).toEqual({ eventId: long });
  });
});

describe('choice button values', () => {
  it('carry the question’s event id and the choice’s index, read back as written', () => {
    expect(readChoiceValue(choiceValue({ eventId: 'sevt_q', index: 2 }))).toEqual({ eventId: 'sevt_q', index: 2 });
  });

  it('refuse what they did not write', () => {
    for (const value of [
      '',
      '{',
      'sevt_q',
      '{"e":"sevt_q"}',
      '{"e":"","i":0}',
      '{"e":"sevt_q","i":-1}',
      '{"e":"sevt_q","i":1.5}',
      '{"e":"sevt_q","i":"1"}',
    ])
      expect(readChoiceValue(value)).toBeUndefined();
  });
});

describe('the root card', () => {
  it('Stop carries no value: the message it sits on names the thread', () => {
    const body = renderRootCard({ owner: 'U1', prompt: 'p', state: { ...initialState(), phase: 'running' } });
    const [stop, ...rest] = buttonsOf('blocks' in body ? body.blocks : undefined);
    expect(rest).toEqual([]);
    expect(stop).toMatchObject({ action_id: 'stop_session' });
    expect(stop).not.toHaveProperty('value');
  });
});

describe('Block Kit types', () => {
  it('make a misspelt field a compile error (checked by npm test’s typecheck)', () => {
    // @ts-expect-error `valeu` is not a Button field.
    const misspelt: Button = { type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'A' }, valeu: 'x' };
    // @ts-expect-error a section's text is a text object, not a string.
    const wrong: KnownBlock = { type: 'section', text: 'plain words' };
    expect([misspelt.type, wrong.type]).toEqual(['button', 'section']);
  });
});
