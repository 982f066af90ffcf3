/**
 * How the agent's words reach Slack, decided as data. Pure: given what a text block
 * should say and what its Slack messages (segments) already say, the next step.
 * Streams (chat.startStream/appendStream/stopStream) carry live text when the rate
 * budget allows; otherwise finished text is posted. Either way the words in Slack end
 * up exactly the block's text, split across messages at paragraph boundaries.
 */
import { SLACK_LIMITS } from '../render/slack-limits.js';
import { hashText } from './text-hash.js';

export type Segment = {
  ts: string;
  /** 'file': the rest of an overlong answer, attached as a file. */
  mode: 'stream' | 'post' | 'file';
  /**
   * How many characters of the block's text this message carries (decorations excluded),
   * and their hashText: the words themselves are the block's, so they are not kept.
   * A hash of '' never matches: that message is rewritten with the right words.
   */
  length: number;
  hash: string;
  /** A reopened code fence when the message starts inside one. */
  prefix: string;
  closed: boolean;
  startedAt: number;
  lastWriteAt: number;
};

export type TextPlanInput = {
  text: string;
  /** Length of the final part of `text`; beyond it is preview. */
  committed: number;
  open: boolean;
  segments: readonly Segment[];
  now: number;
  /** When pending text first appeared (for lingering). */
  pendingSince: number | undefined;
  /** A stream may be started now (budget and a free stream slot). */
  canStream: boolean;
  limits?: Partial<TextLimits>;
};

export type TextLimits = {
  /**
   * Largest piece when text must be split across messages, or a stream may still grow:
   * under Slack's 12,000 of markdown_text, so a reopened code fence and its closer fit.
   */
  maxSegment: number;
  /** Finished text up to this, decorations included, is posted as one message (Slack: 12,000 of markdown_text). */
  maxMessage: number;
  /** Roll a stream over well before Slack expires it (~5 min). */
  maxStreamAgeMs: number;
  /** Gap between appends to one stream. */
  flushMs: number;
  /** Wait this long after text appears before opening a stream (bursts coalesce). */
  streamLingerMs: number;
  /** Wait this long to batch finished messages into one post while the turn runs. */
  postLingerMs: number;
  /** Characters shown in the thread for one answer; past them the whole text goes up as a file. */
  overflowAt: number;
};

export const DEFAULT_LIMITS: TextLimits = {
  maxSegment: 10_000,
  maxMessage: SLACK_LIMITS.markdownText,
  maxStreamAgeMs: 4 * 60_000,
  // With the turn's root and usage writes, one thread stays under one write a second.
  flushMs: 1_400,
  streamLingerMs: 150,
  postLingerMs: 250,
  overflowAt: 25_000,
};

export type TextAction =
  | { kind: 'none' }
  | { kind: 'wait'; until: number }
  | { kind: 'start_stream'; text: string; prefix: string }
  /** `carries`: all the segment's text once the step is done. */
  | { kind: 'append'; segment: number; text: string; carries: string }
  | { kind: 'stop'; segment: number; text: string; suffix: string; carries: string }
  | { kind: 'post'; text: string; prefix: string; suffix: string }
  /** Too long for a readable thread: attach the block's full text as a file (`rest` is what was not shown). */
  | { kind: 'attach'; fullText: string; rest: string }
  /** The shown text went wrong (a withdrawn preview): make segment `segment` say `text`, drop later ones. */
  | { kind: 'rewrite'; segment: number; text: string; suffix: string };

/** The segment a piece of text makes: its length and hash. */
export function carrying(text: string): { length: number; hash: string } {
  return { length: text.length, hash: hashText(text) };
}

export function planText(input: TextPlanInput): TextAction {
  const limits = { ...DEFAULT_LIMITS, ...input.limits };
  const { text, segments, now } = input;

  // Find the first segment whose words the text no longer starts with and make it (and so the rest) right.
  let start = 0;
  let lastStart = 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (start + seg.length > text.length || hashText(text.slice(start, start + seg.length)) !== seg.hash) {
      const body = cut(text.slice(start), limits.maxSegment);
      return { kind: 'rewrite', segment: i, text: body, suffix: fenceCloser(seg.prefix + body) };
    }
    lastStart = start;
    start += seg.length;
  }
  const delivered = start;

  const pending = text.slice(delivered);
  const last = segments.at(-1);
  if (last && last.mode === 'stream' && !last.closed) {
    const index = segments.length - 1;
    const lastText = text.slice(lastStart, delivered);
    const room = Math.min(limits.maxSegment - last.length, limits.overflowAt - delivered);
    const tooOld = now - last.startedAt >= limits.maxStreamAgeMs;
    if (!input.open || tooOld || pending.length > room) {
      const part = pending.length <= room ? pending : cut(pending, room, true);
      return { kind: 'stop', segment: index, text: part, suffix: fenceCloser(last.prefix + lastText + part), carries: lastText + part };
    }
    if (pending === '') return { kind: 'none' };
    const due = last.lastWriteAt + limits.flushMs;
    return now >= due ? { kind: 'append', segment: index, text: pending, carries: lastText + pending } : { kind: 'wait', until: due };
  }

  if (pending === '') return { kind: 'none' };
  const room = limits.overflowAt - delivered;
  if (room <= 0 || (pending.length > room && room < limits.maxSegment / 2)) {
    // A few messages' worth shown: the rest (and all of it) goes up as a file once complete.
    return input.open ? { kind: 'none' } : { kind: 'attach', fullText: text, rest: pending };
  }
  const prefix = fenceOpenerAt(text, delivered);
  if (input.open && input.canStream) {
    const due = (input.pendingSince ?? now) + limits.streamLingerMs;
    if (now < due) return { kind: 'wait', until: due };
    return { kind: 'start_stream', text: cut(pending, Math.min(limits.maxSegment, limits.overflowAt - delivered)), prefix };
  }
  // Post path: only final text, never a preview that might still change.
  const final = text.slice(delivered, Math.max(delivered, input.committed));
  if (final === '') return { kind: 'none' };
  if (input.open) {
    const due = (input.pendingSince ?? now) + limits.postLingerMs;
    if (now < due && final.length < limits.maxSegment) return { kind: 'wait', until: due };
  }
  // Finished words that fit in one Slack message go as one: a split would make the tail
  // wait for the channel's next post token, for nothing.
  const fitsOne = prefix.length + final.length + fenceCloser(prefix + final).length <= limits.maxMessage;
  const body = cut(final, Math.min(fitsOne ? final.length : limits.maxSegment, limits.overflowAt - delivered));
  return { kind: 'post', text: body, prefix, suffix: fenceCloser(prefix + body) };
}

/**
 * The longest head of `text` within `max`, ending at a paragraph break, else a line
 * break, else hard. With `allowEmpty`, nothing rather than a hard cut.
 */
export function cut(text: string, max: number, allowEmpty = false): string {
  if (text.length <= max) return text;
  const window = text.slice(0, max);
  const para = window.lastIndexOf('\n\n');
  if (para > max / 2) return window.slice(0, para + 2);
  const line = window.lastIndexOf('\n');
  if (line > max / 2) return window.slice(0, line + 1);
  return allowEmpty ? '' : window;
}

const FENCE = /^\s*(```|~~~)/;

/** The fence line open at `offset` in `text`, to reopen a code block in a new message. */
export function fenceOpenerAt(text: string, offset: number): string {
  let open: string | undefined;
  for (const line of text.slice(0, offset).split('\n')) if (FENCE.test(line)) open = open ? undefined : line.trim();
  return open ? `${open}\n` : '';
}

/** What closes a message that ends inside a code block. */
export function fenceCloser(shown: string): string {
  let open = false;
  for (const line of shown.split('\n')) if (FENCE.test(line)) open = !open;
  return open ? '\n```' : '';
}
