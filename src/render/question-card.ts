import { z } from 'zod';
import type { Item } from '../bridge/thread-state.js';
import type { Answer } from '../store/thread-records.js';
import { when } from './approval-card.js';
import { context, section, type Button, type KnownBlock } from './block-kit.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import type { SlackBody } from './slack-message.js';
import { CARD_BUDGET, cutEscaped, cutPlain, fitMrkdwn, SLACK_LIMITS, splitEscaped } from './slack-limits.js';

/** Each choice button gets its own action id (Slack wants them unique in a block); all match this prefix. */
export const ANSWER_ACTION_PREFIX = 'answer_question:';

type Question = Extract<Item, { kind: 'question' }>;

/**
 * A long question spreads over this many sections at most, within this many characters
 * after escaping; each choice, and all of them, as listed above the buttons when one is
 * too long for a label. ask_user's own limits (5,000 and 300) fit in full unless
 * escaping grows them; the card stays under CARD_BUDGET.blocksText either way.
 */
const QUESTION_SECTIONS = 3;
const QUESTION_CHARS = 5400;
const CHOICE_CHARS = 300;
const CHOICES_CHARS = 1700;

/** The agent's ask_user question; its buttons go once it is answered or closed. */
export function renderQuestion(item: Question, answer: Answer | undefined, owner: string): SlackBody {
  const asked = splitEscaped(
    cutEscaped(`:question: *The agent asks:* ${escapeMrkdwn(sanitizeForSlack(item.question))}`, QUESTION_CHARS),
    SLACK_LIMITS.sectionText,
    QUESTION_SECTIONS,
  ).map(section);
  if (answer) {
    const by = `\n— <@${answer.user}> ${when(answer.at)}`;
    const room = CARD_BUDGET.blocksText - asked.reduce((n, b) => n + b.text.text.length, 0);
    const said = cutEscaped(
      `>${escapeMrkdwn(sanitizeForSlack(answer.text)).replace(/\n/g, '\n>')}`,
      Math.min(SLACK_LIMITS.sectionText, room) - by.length,
    );
    return { text: fallback(`Answered: ${item.question}`), blocks: [...asked, section(said + by)] };
  }
  if (!item.open)
    return { text: fallback(`Unanswered: ${item.question}`), blocks: [...asked, context('_This question was closed without an answer._')] };
  const blocks: KnownBlock[] = [...asked];
  if (item.choices.length > 0) {
    // A label longer than a button holds is cut there, so the full choices are listed above it.
    const listed = item.choices.some((c) => c.length > SLACK_LIMITS.buttonText);
    if (listed) {
      const lines = item.choices.map((c, i) => `*${i + 1}.* ${fitMrkdwn(sanitizeForSlack(c), CHOICE_CHARS)}`);
      blocks.push(section(cutEscaped(lines.join('\n'), CHOICES_CHARS)));
    }
    blocks.push({
      type: 'actions',
      block_id: `question:${item.id}`,
      elements: item.choices.slice(0, SLACK_LIMITS.actionsElements).map(
        (choice, i): Button => ({
          type: 'button',
          action_id: `${ANSWER_ACTION_PREFIX}${i}`,
          text: { type: 'plain_text', text: cutPlain(listed ? `${i + 1}. ${choice}` : choice, SLACK_LIMITS.buttonText) || `${i + 1}` },
          value: choiceValue({ eventId: item.id, index: i }),
        }),
      ),
    });
  }
  blocks.push(context(`Reply in this thread to answer. <@${owner}> or an approver can answer.`));
  return { text: fallback(`The agent asks: ${item.question}`), blocks };
}

const fallback = (text: string) => cutPlain(text, CARD_BUDGET.fallbackText);

/** What a choice button carries: the ask_user event id and the choice's index, as JSON `{"e": eventId, "i": index}`. */
export type ChoiceButton = { eventId: string; index: number };

export function choiceValue({ eventId, index }: ChoiceButton): string {
  return JSON.stringify({ e: eventId, i: index });
}

const ChoiceValueSchema = z.object({ e: z.string().min(1), i: z.number().int().nonnegative() });

/** A choice button's value read back (it comes from Slack, so it is parsed); undefined when it is not one. */
export function readChoiceValue(value: string): ChoiceButton | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = ChoiceValueSchema.safeParse(raw);
  return parsed.success ? { eventId: parsed.data.e, index: parsed.data.i } : undefined;
}
