import { z } from 'zod';
import type { Item } from '../bridge/thread-state.js';
import type { Decision } from '../store/thread-records.js';
import { context, section, type ActionsBlock, type Button, type KnownBlock } from './block-kit.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import type { SlackBody } from './slack-message.js';
import { cutEscaped, cutPlain, fitMrkdwn, SLACK_LIMITS } from './slack-limits.js';

export const APPROVE_ACTION_ID = 'approve_tool';
export const DENY_ACTION_ID = 'deny_tool';

type Approval = Extract<Item, { kind: 'approval' }>;

/** Raw characters of a tool input worth reading in a card; escaping may grow them, cut again after. */
export const PREVIEW_CHARS = 1500;
/** A tool or MCP name is short; one that is not is cut so the card keeps its words. */
const NAME_CHARS = 200;
/** A deny reason shown on the card (the agent gets all of it). */
const REASON_CHARS = 1500;
const FENCE = '```';

/**
 * One message per tool call that needs a person's yes or no. The buttons carry the
 * tool_use event id and the tool's name (for the Deny dialog's question), see
 * approvalValue; who may decide is checked when a button is pressed.
 */
export function renderApproval(item: Approval, decision: Decision | undefined, owner: string): SlackBody {
  const tool = `*${fitMrkdwn(item.name, NAME_CHARS)}*`;
  const name = cutPlain(item.name, NAME_CHARS);
  const preview = section(codeBlock(describeInput(item.input)));
  // A recorded decision shows at once, before the API echoes the confirmation back.
  const decided =
    decision ?? (item.state === 'allowed' ? { result: 'allow' as const } : item.state === 'denied' ? { result: 'deny' as const } : undefined);
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
  const value = approvalValue({ eventId: item.id, toolName: name });
  const approve: Button = { type: 'button', action_id: APPROVE_ACTION_ID, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value };
  const deny: Button = { type: 'button', action_id: DENY_ACTION_ID, style: 'danger', text: { type: 'plain_text', text: 'Deny…' }, value };
  const actions: ActionsBlock = { type: 'actions', block_id: `approval:${item.id}`, elements: [approve, deny] };
  const blocks: KnownBlock[] = [
    section(`:raised_hand: The agent wants to use ${tool}. Approve?`),
    preview,
    context(`<@${owner}> or an approver can decide.`),
    actions,
  ];
  return { text: `The agent wants to use ${name} and needs approval`, blocks };
}

/** What an Approve or Deny button carries: the tool_use event id, and the tool's name as the card shows it. */
export type ApprovalButton = { eventId: string; toolName: string };

/**
 * The button value, as JSON `{"e": eventId, "t": toolName}`: the name is the card's
 * (cut to NAME_CHARS), so the value stays within Slack's limit for a button value.
 */
export function approvalValue({ eventId, toolName }: ApprovalButton): string {
  const value = JSON.stringify({ e: eventId, t: cutPlain(toolName, NAME_CHARS) });
  // Only an event id far longer than the API's would leave no room: the name is left out, never the id.
  return value.length <= SLACK_LIMITS.buttonValue ? value : JSON.stringify({ e: eventId, t: '' });
}

const ApprovalValueSchema = z.object({ e: z.string().min(1), t: z.string().optional() });

/**
 * An Approve or Deny button's value read back (it comes from Slack, so it is parsed).
 * Cards posted before the value was JSON carry the bare event id: read as that, with no
 * tool name. Undefined when it is neither.
 */
export function readApprovalValue(value: string): { eventId: string; toolName?: string } | undefined {
  if (!value.startsWith('{')) return value === '' ? undefined : { eventId: value };
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = ApprovalValueSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  return { eventId: parsed.data.e, ...(parsed.data.t ? { toolName: parsed.data.t } : {}) };
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
  const safe = sanitizeForSlack(text)
    .replace(/`(?=`)/g, '`\u200b')
    .replace(/^`/, '\u200b`')
    .replace(/`$/, '`\u200b');
  const body = fitMrkdwn(safe, SLACK_LIMITS.sectionText - 2 * FENCE.length);
  return FENCE + (body === '' ? ' ' : body) + FENCE;
}

/** Slack shows the date in each reader's own time zone. */
export function when(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${new Date(ms).toISOString()}>`;
}
