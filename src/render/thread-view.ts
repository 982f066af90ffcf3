import type { Item, ThreadState } from '../bridge/thread-state.js';
import type { Answer, BudgetAction, Decision, Notice } from '../store/thread-records.js';
import { agentErrorWords } from '../words/agent-state.js';
import { renderBudgetStop, type SpendCapView } from './budget-card.js';
import { renderApproval } from './approval-card.js';
import { feedbackBlock } from './feedback.js';
import { context, type ContextBlock } from './block-kit.js';
import { renderQuestion } from './question-card.js';
import { sanitizeForSlack } from './sanitize.js';
import type { SlackBody } from './slack-message.js';
import { renderToolLine } from './tool-line.js';
import { formatCost, formatSeconds, formatTokens } from './figures.js';
import { withinLimits } from './fallback.js';
import { CARD_BUDGET, cutEscaped, cutPlain, fitMrkdwn, SLACK_LIMITS } from './slack-limits.js';

const LINES_PER_CONTEXT = 10;
const MAX_TOOL_LINES = 40;

/**
 * What the thread should show, in order. A `text` block is a run of the agent's
 * words (delivery decides whether it streams or posts them, and where messages
 * split); a `message` block is one Slack message that may be edited in place.
 * Keys derive from event ids, so they are stable across re-renders and restarts.
 */
export type ViewBlock =
  /** `status`: a summary (the usage line) that yields Slack budget to other threads' words. */
  | { kind: 'message'; key: string; body: SlackBody; priority?: 'status' }
  | {
      kind: 'text';
      key: string;
      /** Sanitised Markdown: final messages, then the preview being written. */
      text: string;
      /** How much of `text` is final (the rest is a live preview that may change). */
      committed: number;
      /** May still grow: the last block of a live turn. */
      open: boolean;
      turn: number;
    };

const MESSAGE_SEPARATOR = '\n\n';

/** What people did in the thread that the event history does not say (who decided, who answered). */
export type PeopleInput = {
  owner: string;
  decisions: Readonly<Record<string, Decision>>;
  answers: Readonly<Record<string, Answer>>;
  /** Raised or ended at each budget stop, and the session's cap (spend caps). */
  budgetActions?: Readonly<Record<string, BudgetAction>> | undefined;
  spendCap?: SpendCapView | undefined;
};

const NOBODY: PeopleInput = { owner: '', decisions: {}, answers: {} };

export function renderThread(state: ThreadState, notices: readonly Notice[] = [], people: PeopleInput = NOBODY): ViewBlock[] {
  const pending = [...notices].sort((a, b) => a.afterItems - b.afterItems);
  const blocks: ViewBlock[] = [];
  let text: Extract<ViewBlock, { kind: 'text' }> | undefined;
  const flush = () => {
    if (text) blocks.push(text);
    text = undefined;
  };
  const addText = (id: string, words: string, turn: number, final: boolean) => {
    const clean = sanitizeForSlack(words);
    if (!text || text.turn !== turn) {
      flush();
      text = { kind: 'text', key: `text:${id}`, text: '', committed: 0, open: false, turn };
    }
    text.text += (text.text === '' ? '' : MESSAGE_SEPARATOR) + clean;
    if (final) text.committed = text.text.length;
  };
  const emitNoticesUpTo = (itemCount: number) => {
    while (pending.length > 0 && pending[0]!.afterItems <= itemCount) {
      const n = pending.shift()!;
      flush();
      blocks.push({ kind: 'message', key: `notice:${n.key}`, body: warning(n.text) });
    }
  };
  emitNoticesUpTo(0);
  state.items.forEach((item, index) => {
    if (item.kind === 'text') addText(item.id, item.text, item.turn, true);
    else {
      flush();
      blocks.push(renderMessage(item, people));
    }
    emitNoticesUpTo(index + 1);
  });
  if (state.preview && state.preview.text !== '') addText(state.preview.id, state.preview.text, state.turn, false);
  flush();
  emitNoticesUpTo(Number.POSITIVE_INFINITY);
  const last = blocks.at(-1);
  if (last?.kind === 'text' && state.turnOpen && last.turn === state.turn) last.open = true;
  return blocks;
}

/** A line from the bridge or the API, as a plain message that fits whatever it says. */
function warning(text: string): SlackBody {
  return { text: `:warning: ${fitMrkdwn(sanitizeForSlack(text), CARD_BUDGET.plainText - 10)}` };
}

/** The newest tool lines that fit one card: older ones are counted, not shown. */
function toolBlocks(lines: readonly string[]): ContextBlock[] {
  let hidden = Math.max(0, lines.length - MAX_TOOL_LINES);
  const size = (from: number) => lines.slice(from).reduce((n, l) => n + l.length + 1, 0);
  while (hidden < lines.length - 1 && size(hidden) > CARD_BUDGET.blocksText - 100) hidden++;
  const shown = hidden > 0 ? [`… ${hidden} earlier tool calls`, ...lines.slice(hidden)] : [...lines];
  const blocks: ContextBlock[] = [];
  for (let i = 0; i < shown.length; i += LINES_PER_CONTEXT) {
    blocks.push(context(cutEscaped(shown.slice(i, i + LINES_PER_CONTEXT).join('\n'), SLACK_LIMITS.contextElementText)));
  }
  return blocks;
}

function renderMessage(item: Exclude<Item, { kind: 'text' }>, people: PeopleInput): Extract<ViewBlock, { kind: 'message' }> {
  const rendered = renderBody(item, people);
  return { ...rendered, body: withinLimits(rendered.body) };
}

function renderBody(item: Exclude<Item, { kind: 'text' }>, people: PeopleInput): Extract<ViewBlock, { kind: 'message' }> {
  switch (item.kind) {
    case 'tools': {
      const blocks = toolBlocks(item.tools.map(renderToolLine));
      const fallback = `Tool activity: ${item.tools.map((t) => `${cutPlain(t.name, 60)} (${t.status})`).join(', ')}`;
      return { kind: 'message', key: `tools:${item.id}`, body: { text: cutPlain(fallback, CARD_BUDGET.fallbackText), blocks } };
    }
    case 'error':
      return { kind: 'message', key: `error:${item.id}`, body: warning(agentErrorWords(item.error)) };
    case 'approval':
      return { kind: 'message', key: `approval:${item.id}`, body: renderApproval(item, people.decisions[item.id], people.owner) };
    case 'question':
      return { kind: 'message', key: `question:${item.id}`, body: renderQuestion(item, people.answers[item.id], people.owner) };
    case 'budget':
      return {
        kind: 'message',
        key: `budget:${item.id}`,
        body: renderBudgetStop(item, people.budgetActions?.[item.id], people.spendCap, people.owner),
      };
    case 'usage': {
      const facts = [`${formatTokens(item.inputTokens)} tokens in`, `${formatTokens(item.outputTokens)} out`];
      if (item.seconds !== undefined) facts.push(formatSeconds(item.seconds));
      if (item.sessionCost) facts.push(`session so far ${formatCost(item.sessionCost)}`);
      const line = `Turn ${item.turn} · ${facts.join(' · ')}`;
      return {
        kind: 'message',
        key: `usage:${item.id}`,
        priority: 'status',
        // The finished answer closes with Slack's feedback buttons; a click names this turn.
        body: { text: line, blocks: [context(`:bar_chart: ${line}`), feedbackBlock(item.turn)] },
      };
    }
    case 'feedback':
      return {
        kind: 'message',
        key: `feedback:${item.id}`,
        priority: 'status',
        body: { text: 'How was this answer?', blocks: [feedbackBlock(item.turn)] },
      };
  }
}
