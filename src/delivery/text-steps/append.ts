import type { Writing } from '../../store/thread-records.js';
import { SlackCallError } from '../slack-writer.js';
import { carrying, type TextAction } from '../text-plan.js';
import type { StepOutcome, TextStepContext } from './step.js';
import { recoverStream, type StreamRecoveryWriter } from './stream-recovery.js';

export type AppendWriter = StreamRecoveryWriter & {
  callOnce(method: 'chat.appendStream', args: Record<string, unknown>, priority: 'preacquired'): Promise<unknown>;
};

/**
 * Adds the new words to the open stream. Not retried blindly: an append that landed and
 * answered 5xx would show twice, so an unknown outcome is settled from the thread.
 */
export async function appendToStream(
  ctx: TextStepContext,
  action: Extract<TextAction, { kind: 'append' }>,
  writer: AppendWriter,
): Promise<StepOutcome> {
  const seg = ctx.segments[action.segment]!;
  const intent: Writing = { key: ctx.key, segment: action.segment, kind: 'append' };
  await ctx.intend(intent);
  const segments = [...ctx.segments];
  try {
    await writer.callOnce('chat.appendStream', { channel: ctx.channel, ts: seg.ts, markdown_text: action.text }, 'preacquired');
    segments[action.segment] = { ...seg, ...carrying(action.carries), lastWriteAt: ctx.now };
  } catch (error) {
    if (error instanceof SlackCallError && error.unknownOutcome) return { kind: 'unknown_outcome', intent, next: 'replan' };
    const shownBefore = action.carries.slice(0, action.carries.length - action.text.length);
    segments[action.segment] = await recoverStream(ctx, seg, error, shownBefore, writer);
  }
  return { kind: 'written', segments };
}
