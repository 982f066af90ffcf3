import { carrying, type TextAction } from '../text-plan.js';
import { startOfMessage, type StepOutcome, type TextStepContext } from './step.js';

export type RewriteWriter = {
  call(method: 'chat.stopStream' | 'chat.update' | 'chat.delete', args: Record<string, unknown>): Promise<unknown>;
};

/**
 * The shown words went wrong (a withdrawn preview, words lost to a crash): segment
 * `action.segment` is edited to say the right text and every later message of the
 * block is deleted. An open stream among them is stopped first (its slot is given back
 * by whoever holds it once the segments show it closed).
 */
export async function rewriteText(
  ctx: TextStepContext,
  action: Extract<TextAction, { kind: 'rewrite' }>,
  writer: RewriteWriter,
): Promise<StepOutcome> {
  const seg = ctx.segments[action.segment]!;
  if (seg.mode === 'stream' && !seg.closed) await writer.call('chat.stopStream', { channel: ctx.channel, ts: seg.ts }).catch(() => undefined);
  await writer.call('chat.update', { channel: ctx.channel, ts: seg.ts, markdown_text: seg.prefix + startOfMessage(action.text) + action.suffix });
  for (const later of ctx.segments.slice(action.segment + 1)) {
    await writer.call('chat.delete', { channel: ctx.channel, ts: later.ts }).catch(() => undefined);
  }
  const segments = [...ctx.segments.slice(0, action.segment), { ...seg, ...carrying(action.text), closed: true, lastWriteAt: ctx.now }];
  return { kind: 'written', segments };
}
