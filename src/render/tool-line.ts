import type { ToolLine } from '../bridge/thread-state.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';

const STATUS_MARK: Record<ToolLine['status'], string> = {
  running: ':hourglass_flowing_sand:',
  waiting: ':raised_hand:',
  done: ':white_check_mark:',
  failed: ':x:',
};

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
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function renderToolLine(tool: ToolLine): string {
  const preview = inputPreview(tool.input);
  const shown = preview ? ` \`${escapeMrkdwn(sanitizeForSlack(preview)).replace(/`/g, "'")}\`` : '';
  return `${STATUS_MARK[tool.status]} *${escapeMrkdwn(tool.name)}*${shown}`;
}
