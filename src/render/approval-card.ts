import type { Item } from '../bridge/thread-state.js';
import type { Decision } from '../store/thread-records.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import type { SlackBody } from './slack-message.js';
import { cutEscaped, cutPlain, fitMrkdwn, SLACK_LIMITS } from './slack-limits.js';

export const APPROVE_ACTION_ID = 'approve_tool';
export const DENY_ACTION_ID = 'deny_tool';

type Approval = Extract<Item, { kind: 'approval' }>;

/** Raw characters of a tool input worth reading in a card; escaping may grow them, cut again after. */
const PREVIEW_CHARS = 1500;
/** A tool or MCP name is short; one that is not is cut so the card keeps its words. */
const NAME_CHARS = 200;
/** A deny reason shown on the card (the agent gets all of it). */
const REASON_CHARS = 1500;
const FENCE = '```';

/**
 * One message per tool call that needs a person's yes or no. The buttons carry only
 * the tool_use event id: who may decide is checked when a button is pressed.
 */
export function renderApproval(item: Approval, decision: Decision | undefined, owner: string): SlackBody {
  const tool = `*${fitMrkdwn(item.name, NAME_CHARS)}*`;
  const name = cutPlain(item.name, NAME_CHARS);
  const preview = { type: 'section', text: { type: 'mrkdwn', text: codeBlock(describeInput(item.input)) } };
  // A recorded decision shows at once, before the API echoes the confirmation back.
  const decided = decision ?? (item.state === 'allowed' ? { result: 'allow' as const } : item.state === 'denied' ? { result: 'deny' as const } : undefined);
  if (decided) {
    const by = 'user' in decided ? ` by <@${decided.user}> ${when(decided.at)}` : '';
    const head = decided.result === 'allow' ? `:white_check_mark: ${tool} approved${by}` : `:no_entry: ${tool} denied${by}`;
    // Quoted line by line: each `>` added counts, so the quote is cut after it is built.
    const quoted = 'reason' in decided && decided.reason ? `\n>${escapeMrkdwn(sanitizeForSlack(decided.reason)).replace(/\n/g, '\n>')}` : '';
    const reason = cutEscaped(quoted, Math.min(REASON_CHARS, SLACK_LIMITS.sectionText - head.length));
    return { text: `${name} ${decided.result === 'allow' ? 'approved' : 'denied'}`, blocks: [section(head + reason), preview] };
  }
  if (item.state === 'expired') {
    return { text: `${name}: no decision`, blocks: [section(`:hourglass: ${tool} was not decided before the turn ended.`), preview] };
  }
  return {
    text: `The agent wants to use ${name} and needs approval`,
    blocks: [
      section(`:raised_hand: The agent wants to use ${tool}. Approve?`),
      preview,
      { type: 'context', elements: [{ type: 'mrkdwn', text: `<@${owner}> or an approver can decide.` }] },
      {
        type: 'actions',
        block_id: `approval:${item.id}`,
        elements: [
          { type: 'button', action_id: APPROVE_ACTION_ID, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: item.id },
          { type: 'button', action_id: DENY_ACTION_ID, style: 'danger', text: { type: 'plain_text', text: 'Deny…' }, value: item.id },
        ],
      },
    ],
  };
}

/** What a person needs to judge the call: the command, path or URL first, else the whole input. */
export function describeInput(input: unknown): string {
  if (input && typeof input === 'object') {
    const obj = input as Record<string, unknown>;
    const lines: string[] = [];
    for (const key of ['command', 'file_path', 'path', 'url', 'pattern', 'query']) {
      if (typeof obj[key] === 'string') lines.push(key === 'command' ? `$ ${obj[key]}` : `${key}: ${obj[key]}`);
    }
    for (const key of ['content', 'new_string']) {
      if (typeof obj[key] === 'string') lines.push(`${key}:\n${obj[key]}`);
    }
    if (lines.length > 0) return clip(lines.join('\n'));
  }
  return clip(JSON.stringify(input, null, 2) ?? '');
}

function clip(text: string): string {
  return cutPlain(text, PREVIEW_CHARS);
}

/**
 * The preview as a code block that fits one section after escaping. A fence inside the
 * preview would end the block early, and a backtick against a fence would lengthen
 * it: a zero-width space keeps any two backticks apart.
 */
function codeBlock(text: string): string {
  const safe = sanitizeForSlack(text).replace(/`(?=`)/g, '`\u200b').replace(/^`/, '\u200b`').replace(/`$/, '`\u200b');
  const body = fitMrkdwn(safe, SLACK_LIMITS.sectionText - 2 * FENCE.length);
  return FENCE + (body === '' ? ' ' : body) + FENCE;
}

function section(text: string) {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** Slack shows the date in each reader's own time zone. */
export function when(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${new Date(ms).toISOString()}>`;
}
