import { formatCents, nextCap } from '../access/spend-cap.js';
import type { Item } from '../bridge/thread-state.js';
import type { BudgetAction } from '../store/thread-records.js';
import { when } from './approval-card.js';
import { section, type Button } from './block-kit.js';
import { formatCost } from './figures.js';
import type { SlackBody } from './slack-message.js';

export const RAISE_CAP_ACTION_ID = 'raise_cap';
export const END_SESSION_ACTION_ID = 'end_session';

type BudgetStop = Extract<Item, { kind: 'budget' }>;

/** The session's cap as the record knows it: what it started with, how far it may go, where it is now. */
export type SpendCapView = { startCents: number; maxCents: number; currentCents: number };

/**
 * The sentence in the thread when the agent stops at the session's spend cap, with
 * Raise the cap and End. The buttons carry the stop's event id; who may press them is
 * checked when they are pressed. Afterwards it says who did what, and the buttons go.
 */
export function renderBudgetStop(item: BudgetStop, action: BudgetAction | undefined, cap: SpendCapView | undefined, owner: string): SlackBody {
  const capWords = item.cap ? formatCost(item.cap) : cap ? formatCents(cap.currentCents) : 'its limit';
  const spent = item.spent ? ` (${formatCost(item.spent)} spent)` : '';
  if (action?.action === 'raise') {
    const to = action.toCents !== undefined ? formatCents(action.toCents) : 'a higher amount';
    const line = `:moneybag: The session reached its spend cap of ${capWords}${spent}. <@${action.user}> raised it to ${to} ${when(action.at)}.`;
    return { text: `Spend cap raised to ${to}`, blocks: [section(line)] };
  }
  if (action?.action === 'end') {
    const line = `:moneybag: The session reached its spend cap of ${capWords}${spent}. <@${action.user}> ended it ${when(action.at)}.`;
    return { text: 'Session ended at its spend cap', blocks: [section(line)] };
  }
  const spentCents = item.spent ? Number(item.spent.amount) : 0;
  const raise = cap
    ? nextCap({
        currentCents: cap.currentCents,
        stepCents: cap.startCents,
        maxCents: cap.maxCents,
        spentCents: Number.isFinite(spentCents) ? spentCents : 0,
      })
    : undefined;
  const offer =
    raise?.kind === 'raised'
      ? `<@${owner}>, an approver or an admin can raise the cap to ${formatCents(raise.toCents)} or end the session.`
      : raise?.kind === 'at_max'
        ? `The cap is at its maximum (${formatCents(raise.maxCents)}): <@${owner}>, an approver or an admin can end the session, or start a new one.`
        : `<@${owner}>, an approver or an admin can end the session.`;
  const buttons: Button[] = [];
  if (raise?.kind === 'raised') {
    buttons.push({
      type: 'button',
      action_id: RAISE_CAP_ACTION_ID,
      style: 'primary',
      text: { type: 'plain_text', text: 'Raise the cap' },
      value: item.id,
    });
  }
  buttons.push({ type: 'button', action_id: END_SESSION_ACTION_ID, text: { type: 'plain_text', text: 'End' }, value: item.id });
  return {
    text: `The agent stopped at this session's spend cap of ${capWords}`,
    blocks: [
      section(`:moneybag: The agent stopped: this session reached its spend cap of ${capWords}${spent}. ${offer}`),
      { type: 'actions', block_id: `budget:${item.id}`, elements: buttons },
    ],
  };
}
