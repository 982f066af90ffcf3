import type { MessageEvent } from './inbound.js';

export type MessageRoute =
  | { kind: 'ignore'; reason: string }
  | { kind: 'steer'; threadTs: string; text: string }
  | { kind: 'start'; threadTs: string; text: string }
  | { kind: 'usage'; threadTs: string };

/** The words of a message that only shares files (the file list follows for the agent). */
export const FILES_ONLY = '(shared files, no message)';

const HUMAN_SUBTYPES = new Set<string | undefined>([undefined, 'file_share', 'thread_broadcast']);

/**
 * What a message means for the bot. Pure: the caller says whether the thread is a
 * session. A mention arrives as both `app_mention` and `message`; both route the same
 * way, and the caller dedupes them by (channel, ts).
 */
export function routeMessage(m: MessageEvent, botUserId: string, threadIsSession: boolean): MessageRoute {
  if (m.bot_id) return { kind: 'ignore', reason: 'bot message' };
  if (!HUMAN_SUBTYPES.has(m.subtype)) return { kind: 'ignore', reason: `subtype ${m.subtype}` };
  if (!m.user) return { kind: 'ignore', reason: 'no user' };
  if (m.user === botUserId) return { kind: 'ignore', reason: 'own message' };
  const mention = `<@${botUserId}>`;
  const mentioned = m.type === 'app_mention' || m.text.includes(mention);
  const text = m.text
    .split(mention)
    .join('')
    .replace(/^[\s,:]+/, '')
    .trim();
  if (m.thread_ts && threadIsSession) {
    return text === '' && !m.files?.length
      ? { kind: 'ignore', reason: 'empty reply' }
      : { kind: 'steer', threadTs: m.thread_ts, text: text || FILES_ONLY };
  }
  const direct = m.channel_type === 'im';
  if (!mentioned && !direct) return { kind: 'ignore', reason: 'not for the bot' };
  if (text === '' && !m.files?.length) return { kind: 'usage', threadTs: m.thread_ts ?? m.ts };
  return { kind: 'start', threadTs: m.thread_ts ?? m.ts, text: text || FILES_ONLY };
}

/** `:octagonal_sign:` with or without a skin tone (never has one, but Slack suffixes are cheap to strip). */
export const isStopReaction = (reaction: string): boolean => reaction.split('::')[0] === 'octagonal_sign';
