import type { Writing } from '../../store/thread-records.js';
import { SlackCallError } from '../slack-writer.js';
import type { SlotToken } from '../stream-slots.js';
import { carrying, type TextAction } from '../text-plan.js';
import { startOfMessage, type StepOutcome, type TextStepContext } from './step.js';

export type StartStreamWriter = {
  callOnce(method: 'chat.startStream', args: Record<string, unknown>, priority: 'preacquired'): Promise<{ ts?: string }>;
};

export type StartStreamSlots = {
  /** A slot if one is free in the workspace (asking Redis when replicas share them). */
  take(): SlotToken | undefined | Promise<SlotToken | undefined>;
  /** The new stream at `ts` owns the slot from now on. */
  hold(key: string, ts: string, token: SlotToken): void;
};

/**
 * Opens a stream with the block's first words. A stream carries no key: the intent goes
 * to the store first, so a crash or an unknown outcome is settled by looking in the
 * thread. The slot is the step's until the stream exists, then the stream's.
 */
export async function startStream(
  ctx: TextStepContext & { recipient: { user: string; team: string }; afterTs: string },
  action: Extract<TextAction, { kind: 'start_stream' }>,
  writer: StartStreamWriter,
  slots: StartStreamSlots,
): Promise<StepOutcome> {
  // Another thread took the last slot meanwhile: plan again, which posts instead.
  const taken = await slots.take();
  if (!taken) return { kind: 'replan' };
  // Named with its type, so the compiler rules out any use of it after its release below.
  const token: SlotToken = taken;
  const intent: Writing = { key: ctx.key, segment: ctx.segments.length, kind: 'start_stream', afterTs: ctx.afterTs };
  let ts: string;
  try {
    await ctx.intend(intent);
    const res = await writer.callOnce(
      'chat.startStream',
      {
        channel: ctx.channel,
        thread_ts: ctx.threadTs,
        recipient_user_id: ctx.recipient.user,
        recipient_team_id: ctx.recipient.team,
        markdown_text: action.prefix + startOfMessage(action.text),
      },
      'preacquired',
    );
    if (!res.ts) throw new SlackCallError('chat.startStream', 'no_ts_in_response');
    ts = res.ts;
  } catch (error) {
    token.release();
    if (error instanceof SlackCallError && error.unknownOutcome) return { kind: 'unknown_outcome', intent, next: 'retry_later' };
    if (error instanceof SlackCallError && !error.transient) return { kind: 'cannot_stream', slackError: error.slackError };
    throw error;
  }
  // The stream exists: from here the slot is its own, given back when it closes (even if
  // recording it fails below: the intent left in the record then settles it).
  slots.hold(ctx.key, ts, token);
  const segments = [
    ...ctx.segments,
    { ts, mode: 'stream' as const, ...carrying(action.text), prefix: action.prefix, closed: false, startedAt: ctx.now, lastWriteAt: ctx.now },
  ];
  await ctx.indexMessage(ts);
  return { kind: 'written', segments };
}
