import { SlackCallError } from '../slack-writer.js';
import { carrying, type Segment } from '../text-plan.js';
import { startOfMessage } from './step.js';

export type StreamRecoveryWriter = {
  call(method: 'chat.update', args: Record<string, unknown>): Promise<unknown>;
};

/**
 * A stream Slack no longer accepts (expired, stopped by the user): its exact text is put
 * in place with an edit, and the segment is closed. `shown`: the message's words
 * (decorations included); `carries`: the block's text in it. Anything but a refusal for
 * good (a transient failure, a bug) is thrown again: the write is tried later.
 */
export async function recoverStream(
  ctx: { channel: string; log: { warn(obj: object, msg: string): void } },
  seg: Segment,
  error: unknown,
  shown: string,
  writer: StreamRecoveryWriter,
  carries = shown,
): Promise<Segment> {
  if (!(error instanceof SlackCallError) || error.transient) throw error;
  ctx.log.warn({ slackError: error.slackError, ts: seg.ts }, 'stream no longer writable; replacing its text');
  await writer.call('chat.update', { channel: ctx.channel, ts: seg.ts, markdown_text: seg.prefix + startOfMessage(shown) });
  return { ...seg, ...carrying(carries), closed: true, lastWriteAt: Date.now() };
}
