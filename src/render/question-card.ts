import type { Item } from '../bridge/thread-state.js';
import type { Answer } from '../store/thread-records.js';
import { when } from './approval-card.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import type { SlackBody } from './slack-message.js';

/** Each choice button gets its own action id (Slack wants them unique in a block); all match this prefix. */
export const ANSWER_ACTION_PREFIX = 'answer_question:';

type Question = Extract<Item, { kind: 'question' }>;

/** The agent's ask_user question; its buttons go once it is answered or closed. */
export function renderQuestion(item: Question, answer: Answer | undefined, owner: string): SlackBody {
  const asked = `:question: *The agent asks:* ${escapeMrkdwn(sanitizeForSlack(item.question))}`;
  if (answer) {
    const said = escapeMrkdwn(sanitizeForSlack(answer.text)).replace(/\n/g, '\n>');
    return { text: `Answered: ${item.question}`.slice(0, 3000), blocks: [section(asked), section(`>${said}\n— <@${answer.user}> ${when(answer.at)}`)] };
  }
  if (!item.open) return { text: `Unanswered: ${item.question}`.slice(0, 3000), blocks: [section(asked), context('_This question was closed without an answer._')] };
  const blocks: Array<Record<string, unknown>> = [section(asked)];
  if (item.choices.length > 0) {
    blocks.push({
      type: 'actions',
      block_id: `question:${item.id}`,
      elements: item.choices.map((choice, i) => ({
        type: 'button',
        action_id: `${ANSWER_ACTION_PREFIX}${i}`,
        text: { type: 'plain_text', text: choice.slice(0, 75) },
        value: JSON.stringify({ e: item.id, i }),
      })),
    });
  }
  blocks.push(context(`Reply in this thread to answer. <@${owner}> or an approver can answer.`));
  return { text: `The agent asks: ${item.question}`.slice(0, 3000), blocks };
}

function section(text: string) {
  return { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } };
}

function context(text: string) {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}
