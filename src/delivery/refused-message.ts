import { fallbackBodies } from '../render/fallback.js';
import type { SlackBody } from '../render/slack-message.js';
import { SlackCallError } from './slack-writer.js';

/**
 * Slack errors that refuse a message's content (its blocks, its length, its mix of
 * fields), not the place it goes to: a plainer version of the same message may be taken.
 */
const CONTENT_REFUSALS = new Set([
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'msg_blocks_too_long',
  'invalid_arguments',
  'no_text',
  'invalid_attachments',
  'too_many_attachments',
  'markdown_text_conflict',
]);

export function isContentRefusal(error: unknown): error is SlackCallError {
  return error instanceof SlackCallError && !error.transient && CONTENT_REFUSALS.has(error.slackError);
}

export type FallbackOutcome<T> =
  /** What stands in: the plain section with the same buttons, or the plain text line alone. */
  | { kind: 'shown'; value: T; body: SlackBody; shown: 'plain_with_buttons' | 'plain_line' }
  /** Slack refused every plainer version too. */
  | { kind: 'refused'; slackError: string }
  /** Slack could not be reached for a fallback: the whole write may be tried again later. */
  | { kind: 'unavailable'; error: SlackCallError };

/**
 * Writes the plainer versions of a body Slack refused, in order, until Slack takes one.
 * `write` is the same call that was refused (a post under the same key, or an edit of
 * the same message), so what lands stands where the refused message would have.
 */
export async function writeFallback<T>(body: SlackBody, write: (body: SlackBody) => Promise<T>): Promise<FallbackOutcome<T>> {
  let slackError = 'refused';
  for (const fallback of fallbackBodies(body)) {
    try {
      const shown = 'blocks' in fallback && fallback.blocks?.length ? 'plain_with_buttons' : 'plain_line';
      return { kind: 'shown', value: await write(fallback), body: fallback, shown };
    } catch (error) {
      if (!(error instanceof SlackCallError)) throw error;
      if (error.transient) return { kind: 'unavailable', error };
      slackError = error.slackError;
      if (!CONTENT_REFUSALS.has(error.slackError)) break;
    }
  }
  return { kind: 'refused', slackError };
}
