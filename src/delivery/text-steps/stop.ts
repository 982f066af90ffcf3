import { carrying, type TextAction } from '../text-plan.js';
import type { StepOutcome, TextStepContext } from './step.js';
import { recoverStream, type StreamRecoveryWriter } from './stream-recovery.js';

export type StopWriter = StreamRecoveryWriter & {
  call(method: 'chat.stopStream', args: Record<string, unknown>, priority: 'preacquired'): Promise<unknown>;
};

/** Closes the open stream with its last words (and a fence closer when it ends inside code). */
export async function stopStream(ctx: TextStepContext, action: Extract<TextAction, { kind: 'stop' }>, writer: StopWriter): Promise<StepOutcome> {
  const seg = ctx.segments[action.segment]!;
  const tail = action.text + action.suffix;
  await ctx.intend({ key: ctx.key, segment: action.segment, kind: 'stop' });
  const segments = [...ctx.segments];
  try {
    // A stop retried after it landed is refused (not streaming): recoverStream then puts the words in.
    await writer.call('chat.stopStream', { channel: ctx.channel, ts: seg.ts, ...(tail ? { markdown_text: tail } : {}) }, 'preacquired');
    segments[action.segment] = { ...seg, ...carrying(action.carries), closed: true, lastWriteAt: ctx.now };
  } catch (error) {
    segments[action.segment] = await recoverStream(ctx, seg, error, action.carries + action.suffix, writer, action.carries);
  }
  return { kind: 'written', segments };
}
