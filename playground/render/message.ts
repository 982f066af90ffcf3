/**
 * One Slack message → the HTML of its body, as Slack lays it out: `markdown_text` as
 * Markdown, otherwise the blocks (the `text` is then only the notification fallback), or
 * the `text` as mrkdwn; then legacy attachments, shared files and reactions. Pure.
 */
import { blocksToHtml } from './blocks.js';
import { emoji } from './emoji.js';
import { escapeHtml } from './escape.js';
import { markdownToHtml } from './markdown.js';
import { mrkdwnToHtml, type MrkdwnOptions } from './mrkdwn.js';

export type MessageLike = {
  text: string;
  blocks?: unknown[];
  markdown_text?: string;
  attachments?: unknown[];
  files?: unknown[];
  reactions?: Array<{ name: string; users: string[] }>;
};

export type MessageOptions = MrkdwnOptions & {
  /** Where the page serves a shared file's bytes, if it can. */
  fileHref?: (fileId: string) => string | undefined;
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function messageBodyHtml(m: MessageLike, options: MessageOptions = {}): string {
  const blocks = Array.isArray(m.blocks) ? m.blocks : [];
  const parts: string[] = [];
  if (m.markdown_text !== undefined) parts.push(`<div class="markdown">${markdownToHtml(m.markdown_text)}</div>`);
  else if (blocks.length === 0 && m.text !== '') parts.push(`<div class="mrkdwn">${mrkdwnToHtml(m.text, options)}</div>`);
  if (blocks.length > 0) parts.push(`<div class="blocks">${blocksToHtml(blocks, options)}</div>`);
  for (const a of m.attachments ?? []) parts.push(attachmentHtml(a, options));
  if (m.files?.length) parts.push(`<div class="files">${m.files.map((f) => fileHtml(f, options)).join('')}</div>`);
  return parts.join('');
}

function attachmentHtml(a: unknown, options: MessageOptions): string {
  if (!isObject(a)) return '';
  const color = typeof a.color === 'string' && /^#?[0-9a-fA-F]{3,8}$/.test(a.color) ? a.color.replace(/^#?/, '#') : '#ddd';
  const blocks = Array.isArray(a.blocks) ? blocksToHtml(a.blocks, options) : '';
  const text = typeof a.text === 'string' ? mrkdwnToHtml(a.text, options) : '';
  return `<div class="attachment" style="border-left-color:${color}">${text}${blocks}</div>`;
}

function fileHtml(f: unknown, options: MessageOptions): string {
  if (!isObject(f)) return '';
  const id = typeof f.id === 'string' ? f.id : '';
  const name = escapeHtml(String(f.title ?? f.name ?? id));
  const size = typeof f.size === 'number' ? `<span class="file-size">${formatBytes(f.size)}</span>` : '';
  const href = id ? options.fileHref?.(id) : undefined;
  const title = href ? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener">${name}</a>` : `<span>${name}</span>`;
  return `<div class="file" data-file-id="${escapeHtml(id)}"><span class="file-icon">📄</span>${title}${size}</div>`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Reactions under a message, each with its count; `mine` marks the ones the reader added. */
export function reactionsHtml(reactions: MessageLike['reactions'], me: string): string {
  if (!reactions?.length) return '';
  const chips = reactions.map((r) => {
    const mine = r.users.includes(me) ? ' mine' : '';
    const face = emoji(r.name) ?? `:${escapeHtml(r.name)}:`;
    return `<span class="reaction${mine}" data-reaction="${escapeHtml(r.name)}" title=":${escapeHtml(r.name)}:">${face} ${r.users.length}</span>`;
  });
  return `<div class="reactions">${chips.join('')}</div>`;
}
