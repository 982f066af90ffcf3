import type { ThreadState } from '../bridge/thread-state.js';
import { detailWords } from '../words/agent-state.js';
import type { ActionsBlock, Button, KnownBlock } from './block-kit.js';
import { context, section } from './block-kit.js';
import { formatCost, formatTokens, turnElapsed } from './figures.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import { withinLimits } from './fallback.js';
import type { SlackBody } from './slack-message.js';
import { CARD_BUDGET, cutEscaped, cutPlain, fitMrkdwn, SLACK_LIMITS } from './slack-limits.js';

export const STOP_ACTION_ID = 'stop_session';

export type RootCardInput = {
  owner: string;
  prompt: string;
  state: ThreadState;
  /** Slack user who stopped the last turn, when the bridge sent the interrupt. */
  stoppedByUser?: string;
  /** Problem the bridge itself hit (API error) that the status line must show. */
  failure?: string;
  /** For the elapsed time of a running turn. */
  now?: number;
  /** The session's agent profile; shown only when a profiles file is in use (else absent). */
  profile?: string | undefined;
};

/** The status line in words, e.g. "Running · 3 tool calls · 1.2k tokens". */
export function statusLine(input: RootCardInput): string {
  const { state } = input;
  const facts: string[] = [];
  const elapsed = turnElapsed(state, input.now);
  if (elapsed) facts.push(elapsed);
  if (state.toolCalls > 0) facts.push(`${state.toolCalls} tool call${state.toolCalls === 1 ? '' : 's'}`);
  const tokens = state.usage.inputTokens + state.usage.outputTokens;
  const turnTokens = tokens - state.usageAtTurnStart.inputTokens - state.usageAtTurnStart.outputTokens;
  if (tokens > 0)
    facts.push(
      turnTokens > 0 && turnTokens < tokens
        ? `${formatTokens(tokens)} tokens (${formatTokens(turnTokens)} this turn)`
        : `${formatTokens(tokens)} tokens`,
    );
  // Spend so far, against the session's cap when it has one.
  const cap = state.budget ? ` of ${formatCost(state.budget)} cap` : '';
  if (state.usage.cost) facts.push(`${formatCost(state.usage.cost)}${cap}`);
  const tail = facts.length > 0 ? ` · ${facts.join(' · ')}` : '';
  return `${headline(input)}${tail}`;
}

function headline({ state, stoppedByUser, failure }: RootCardInput): string {
  if (failure) return `:x: Failed: ${fitMrkdwn(failure, FAILURE_CHARS)}`;
  const detail = state.detail ? ` (${fitMrkdwn(detailWords(state.detail), DETAIL_CHARS)})` : '';
  if (state.interruptId !== undefined && (state.phase === 'running' || state.phase === 'waiting')) return ':octagonal_sign: Stopping…';
  switch (state.phase) {
    case 'starting':
      return ':hourglass_flowing_sand: Starting…';
    case 'running':
      return `:hourglass_flowing_sand: Running${detail}`;
    case 'waiting':
      return ':raised_hand: Waiting for you';
    case 'terminated':
      return state.outcome === 'failed'
        ? `:x: Failed${detail} · the session has ended; start a new one with /agent`
        : ':white_check_mark: Ended · start a new one with /agent';
    case 'idle':
      switch (state.outcome) {
        case 'stopped':
          return stoppedByUser ? `:octagonal_sign: Stopped by <@${stoppedByUser}>` : ':octagonal_sign: Stopped';
        case 'failed':
          return `:x: Failed${detail} · reply in the thread to try again`;
        case 'refused':
          return `:no_entry: The model declined${detail} · rephrase and reply to try again`;
        case 'budget':
          return ':moneybag: Paused at its spend cap · raise the cap or end the session in the thread';
        default:
          return ':white_check_mark: Done · reply in the thread to continue';
      }
  }
}

export function isLive(state: ThreadState): boolean {
  return state.phase === 'starting' || state.phase === 'running' || state.phase === 'waiting';
}

/** The root card, within Slack's limits whatever the prompt and status say (else its plain fallback, Stop kept). */
export function renderRootCard(input: RootCardInput): SlackBody {
  return withinLimits(rootCard(input));
}

function rootCard(input: RootCardInput): SlackBody {
  const prompt = sanitizeForSlack(input.prompt);
  const asked = `<@${input.owner}> asked the agent${profileLabel(input.profile)}:\n`;
  const quoted = quotePrompt(prompt, SLACK_LIMITS.sectionText - asked.length);
  const shownPrompt = cutPlain(prompt, 200);
  const status = cutEscaped(statusLine(input), SLACK_LIMITS.contextElementText);
  const blocks: KnownBlock[] = [section(asked + quoted), context(status)];
  if (isLive(input.state) && !input.failure) {
    // No value: the message the button sits on names the thread to stop.
    const stop: Button = {
      type: 'button',
      action_id: STOP_ACTION_ID,
      text: { type: 'plain_text', text: 'Stop' },
      style: 'danger',
      accessibility_label: 'Stop the agent',
    };
    const actions: ActionsBlock = { type: 'actions', elements: [stop] };
    blocks.push(actions);
  }
  return { text: cutEscaped(`Agent session for <@${input.owner}>: ${escapeMrkdwn(shownPrompt)} (${status})`, CARD_BUDGET.fallbackText), blocks };
}

/** What the API or the bridge said went wrong, and the status detail: a line, not a page. */
const FAILURE_CHARS = 500;
const DETAIL_CHARS = 300;
const PROFILE_CHARS = 80;

const profileLabel = (profile: string | undefined): string => (profile ? ` (profile \`${fitMrkdwn(profile, PROFILE_CHARS)}\`)` : '');

/** Escaped and quoted, cut so the result (not the raw prompt) fits Slack's section limit. */
function quotePrompt(prompt: string, max: number): string {
  return cutEscaped(`>${escapeMrkdwn(prompt).replace(/\n/g, '\n>')}`, max);
}
