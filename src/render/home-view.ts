import type { HomeView } from '@slack/types';
import { homeWords, type HomeState } from '../words/home.js';
import type { Button, KnownBlock, SectionBlock } from './block-kit.js';
import { context, section } from './block-kit.js';
import { formatCost, formatTokens } from './figures.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import { CARD_BUDGET, cutEscaped, cutPlain, SLACK_LIMITS } from './slack-limits.js';

export type { HomeState } from '../words/home.js';

export const HOME_STOP_ACTION_ID = 'home_stop';
export const HOME_STOP_ALL_ACTION_ID = 'home_stop_all';

/** One session as mission control lists it. */
export type HomeSession = {
  team: string;
  channel: string;
  threadTs: string;
  owner: string;
  prompt: string;
  state: HomeState;
  startedAt: number;
  inputTokens: number;
  outputTokens: number;
  cost?: { amount: string; currency: string } | undefined;
  /** The thread's permalink, when the workspace's address is known. */
  link?: string | undefined;
};

export type HomeTotals = { sessions: number; inputTokens: number; outputTokens: number; cost?: { amount: string; currency: string } | undefined };

export type HomeInput = {
  viewer: string;
  now: number;
  /** The viewer's sessions, live and recent, newest first. */
  mine: readonly HomeSession[];
  /** Only for admins: every running session in the workspace and the day's totals. */
  admin?: { running: readonly HomeSession[]; today: HomeTotals } | undefined;
  /** One line at the top: what became of the viewer's last click here. */
  notice?: string | undefined;
};

/** What a Stop on the Home tab names: the thread (the workspace comes with the click). */
export type HomeStopValue = { channel: string; threadTs: string };

const PROMPT_CHARS = 80;
/** Rows per list, before the text budget cuts a list shorter. */
const MAX_ROWS = 20;

const isRunning = (state: HomeState): boolean => state === 'starting' || state === 'running' || state === 'waiting' || state === 'stopping';

/**
 * The Home tab: the viewer's sessions with Stop on the running ones; for admins also
 * every running session, the day's totals and Stop all behind Slack's confirm dialog.
 * Pure; within Slack's limits for a view (100 blocks, and the text of all blocks inside
 * the bot's card budget, so the view is never refused however many sessions there are).
 */
export function renderHome(input: HomeInput): HomeView {
  const blocks: KnownBlock[] = [];
  let budget = CARD_BUDGET.blocksText;
  const add = (b: KnownBlock, chars: number) => {
    blocks.push(b);
    budget -= chars;
  };
  if (input.notice) {
    const line = cutEscaped(escapeMrkdwn(input.notice), 500);
    add(context(line), line.length);
  }
  add(header(homeWords({ kind: 'mine_header' })), 40);
  if (input.mine.length === 0) add(section(homeWords({ kind: 'mine_empty' })), 120);
  // The admin's part is reserved first, so a long list of one's own never squeezes it out.
  const adminReserve = input.admin ? CARD_BUDGET.blocksText / 2 : 0;
  addRows(input.mine, input.now, false, budget - adminReserve, add);
  if (input.admin) {
    const { running, today } = input.admin;
    blocks.push({ type: 'divider' });
    add(header(homeWords({ kind: 'running_header', count: running.length })), 60);
    if (running.length === 0) add(section(homeWords({ kind: 'running_empty' })), 60);
    const totals = totalsBlock(today);
    add(totals.block, totals.chars);
    if (running.length > 0) add(stopAllBlock(running.length), 300);
    addRows(running, input.now, true, budget, add);
  }
  add(context(homeWords({ kind: 'older_in_threads' })), 100);
  return { type: 'home', blocks };
}

function addRows(
  sessions: readonly HomeSession[],
  now: number,
  showOwner: boolean,
  budget: number,
  add: (b: KnownBlock, chars: number) => void,
): void {
  let shown = 0;
  let left = budget - 100;
  for (const s of sessions) {
    if (shown >= MAX_ROWS) break;
    const row = sessionRow(s, now, showOwner);
    if (row.chars > left) break;
    add(row.block, row.chars);
    left -= row.chars;
    shown += 1;
  }
  if (shown < sessions.length) add(context(homeWords({ kind: 'more', count: sessions.length - shown })), 40);
}

function sessionRow(s: HomeSession, now: number, showOwner: boolean): { block: SectionBlock; chars: number } {
  const prompt = cutEscaped(escapeMrkdwn(sanitizeForSlack(s.prompt.replace(/\s+/g, ' ').trim())), PROMPT_CHARS) || '(no prompt)';
  const title = s.link ? `*<${s.link}|${prompt.replace(/[|>]/g, ' ')}>*` : `*${prompt}*`;
  const facts = [homeWords({ kind: 'state', state: s.state })];
  if (showOwner) facts.push(`<@${s.owner}>`);
  facts.push(`<#${s.channel}>`, homeWords({ kind: 'age', minutes: Math.max(0, Math.floor((now - s.startedAt) / 60_000)) }));
  const tokens = s.inputTokens + s.outputTokens;
  if (tokens > 0) facts.push(`${formatTokens(tokens)} tokens`);
  if (s.cost) facts.push(formatCost(s.cost));
  const text = cutEscaped(`${title}\n${facts.join(' · ')}`, SLACK_LIMITS.sectionText);
  const block: SectionBlock = { type: 'section', text: { type: 'mrkdwn', text } };
  if (isRunning(s.state)) block.accessory = stopButton({ channel: s.channel, threadTs: s.threadTs });
  return { block, chars: text.length + (block.accessory ? 10 : 0) };
}

function stopButton(value: HomeStopValue): Button {
  return {
    type: 'button',
    action_id: HOME_STOP_ACTION_ID,
    text: { type: 'plain_text', text: homeWords({ kind: 'stop' }) },
    style: 'danger',
    value: JSON.stringify(value),
  };
}

function stopAllBlock(count: number): KnownBlock {
  return {
    type: 'actions',
    block_id: 'home_stop_all',
    elements: [
      {
        type: 'button',
        action_id: HOME_STOP_ALL_ACTION_ID,
        style: 'danger',
        text: { type: 'plain_text', text: homeWords({ kind: 'stop_all' }) },
        confirm: {
          title: { type: 'plain_text', text: homeWords({ kind: 'stop_all_confirm_title' }) },
          text: { type: 'plain_text', text: cutPlain(homeWords({ kind: 'stop_all_confirm_text', count }), SLACK_LIMITS.confirmText) },
          confirm: { type: 'plain_text', text: homeWords({ kind: 'stop_all_confirm_yes' }) },
          deny: { type: 'plain_text', text: homeWords({ kind: 'stop_all_confirm_no' }) },
          style: 'danger',
        },
      },
    ],
  };
}

function totalsBlock(today: HomeTotals): { block: KnownBlock; chars: number } {
  const fields = [
    `*Sessions*\n${today.sessions}`,
    `*Tokens*\n${formatTokens(today.inputTokens)} in · ${formatTokens(today.outputTokens)} out`,
    ...(today.cost ? [`*Cost*\n${formatCost(today.cost)}`] : []),
  ];
  return {
    block: {
      type: 'section',
      text: { type: 'mrkdwn', text: `*${homeWords({ kind: 'today_header' })}*` },
      fields: fields.map((text) => ({ type: 'mrkdwn' as const, text })),
    },
    chars: fields.join('').length + 20,
  };
}

function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: cutPlain(text, SLACK_LIMITS.headerText) } };
}

/** A Home Stop button's value, read back (it came through Slack: parsed, not trusted). */
export function readHomeStopValue(value: string): HomeStopValue | undefined {
  try {
    const raw = JSON.parse(value) as Record<string, unknown>;
    return typeof raw.channel === 'string' && typeof raw.threadTs === 'string' && raw.channel !== '' && raw.threadTs !== ''
      ? { channel: raw.channel, threadTs: raw.threadTs }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Slack's permalink of a message: `<workspace url>archives/<channel>/p<ts without the dot>`. */
export function threadLink(workspaceUrl: string | undefined, channel: string, ts: string): string | undefined {
  if (!workspaceUrl) return undefined;
  const base = workspaceUrl.endsWith('/') ? workspaceUrl : `${workspaceUrl}/`;
  return `${base}archives/${channel}/p${ts.replace('.', '')}`;
}
