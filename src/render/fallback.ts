import type { SectionBlock } from './block-kit.js';
import { checkMessage } from './block-kit-check.js';
import type { SlackBody } from './slack-message.js';
import { CARD_BUDGET, cutPlain, SLACK_LIMITS } from './slack-limits.js';

/** Said when a message had to be shown plainer than it was rendered. */
const FALLBACK_NOTE = '(Slack could not show this message in full.)';

/**
 * Plainer versions of a message Slack refused, most useful first: the message's own
 * fallback text in one plain section with the same actions blocks (so Approve, Deny and
 * the answer buttons keep working), then that text alone. A text-only message gets only
 * the second.
 */
export function fallbackBodies(body: SlackBody): SlackBody[] {
  const said = 'markdown_text' in body ? body.markdown_text : body.text;
  const text = cutPlain(said.trim() === '' ? 'The agent posted a message.' : said, CARD_BUDGET.fallbackText - FALLBACK_NOTE.length - 1);
  const line: SlackBody = { text: `${text} ${FALLBACK_NOTE}` };
  const actions = 'blocks' in body ? (body.blocks ?? []).filter((b) => b.type === 'actions') : [];
  if (actions.length === 0) return [line];
  const section: SectionBlock = {
    type: 'section',
    text: { type: 'plain_text', text: cutPlain(`${text} ${FALLBACK_NOTE}`, SLACK_LIMITS.sectionText) },
  };
  return [{ text, blocks: [section, ...actions] }, line];
}

/**
 * The body itself when it is within Slack's limits, else its first fallback that is: a
 * rendering that went over never reaches Slack to be refused.
 */
export function withinLimits(body: SlackBody): SlackBody {
  if (!checkMessage(body)) return body;
  return fallbackBodies(body).find((b) => !checkMessage(b)) ?? { text: FALLBACK_NOTE };
}
