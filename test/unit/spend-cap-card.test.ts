import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/bridge/thread-state.js';
import { renderBudgetStop } from '../../src/render/budget-card.js';
import { statusLine } from '../../src/render/root-card.js';

describe('the spend-cap card', () => {
  const item = { kind: 'budget' as const, id: 'idle1', turn: 1, cap: { amount: '500', currency: 'USD' }, spent: { amount: '502', currency: 'USD' } };
  const text = (b: object) => JSON.stringify((b as { blocks?: unknown }).blocks);

  it('offers Raise the cap with the new amount and End; at the maximum only End; afterwards who did what, no buttons', () => {
    const open = renderBudgetStop(item, undefined, { startCents: 500, maxCents: 2000, currentCents: 500 }, 'U1');
    expect(text(open)).toContain('reached its spend cap of $5.00 ($5.02 spent)');
    expect(text(open)).toContain('raise the cap to $10.00');
    expect(text(open)).toContain('raise_cap');
    expect(text(open)).toContain('end_session');
    const atMax = renderBudgetStop(item, undefined, { startCents: 500, maxCents: 500, currentCents: 500 }, 'U1');
    expect(text(atMax)).not.toContain('raise_cap');
    expect(text(atMax)).toContain('at its maximum ($5.00)');
    const raised = renderBudgetStop(
      item,
      { user: 'U2', action: 'raise', toCents: 1000, at: 0 },
      { startCents: 500, maxCents: 2000, currentCents: 1000 },
      'U1',
    );
    expect(text(raised)).toContain('<@U2> raised it to $10.00');
    expect(text(raised)).not.toContain('"actions"');
  });

  it('the status line shows the spend against the cap', () => {
    const state = {
      ...initialState(),
      phase: 'running' as const,
      usage: { inputTokens: 10, outputTokens: 0, cost: { amount: '42', currency: 'USD' } },
      budget: { amount: '500', currency: 'USD' },
    };
    expect(statusLine({ owner: 'U1', prompt: 'p', state })).toContain('$0.42 of $5.00 cap');
  });
});
