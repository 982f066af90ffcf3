import type { ToolLine } from '../bridge/thread-state.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import { cutEscaped, cutPlain, fitMrkdwn } from './slack-limits.js';

const STATUS_MARK: Record<ToolLine['status'], string> = {
  running: ':hourglass_flowing_sand:',
  waiting: ':raised_hand:',
  done: ':white_check_mark:',
  failed: ':x:',
};

/** A tool line's parts after escaping: ten lines fit one context element with room to spare. */
const NAME_CHARS = 60;
const PREVIEW_CHARS = 160;

/** The most telling field of a tool's input, shortened to one line. */
export function inputPreview(input: unknown, max = 80): string {
  if (input === null || typeof input !== 'object') return input === undefined ? '' : oneLine(String(input), max);
  const obj = input as Record<string, unknown>;
  for (const key of ['command', 'file_path', 'path', 'url', 'pattern', 'query', 'question']) {
    if (typeof obj[key] === 'string') return oneLine(obj[key], max);
  }
  const json = JSON.stringify(obj);
  return json === '{}' ? '' : oneLine(json, max);
}

function oneLine(text: string, max: number): string {
  return cutPlain(text.replace(/\s+/g, ' ').trim(), max);
}

/** One line of the activity message, at most ~250 characters whatever the tool's name and input. */
export function renderToolLine(tool: ToolLine): string {
  const preview = inputPreview(tool.input);
  const shown = preview ? ` \`${cutEscaped(escapeMrkdwn(sanitizeForSlack(preview)).replace(/`/g, "'"), PREVIEW_CHARS)}\`` : '';
  return `${STATUS_MARK[tool.status]} *${fitMrkdwn(tool.name, NAME_CHARS)}*${shown}`;
}
