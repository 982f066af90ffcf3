import { carrying, type TextAction } from '../text-plan.js';
import { startOfMessage, type StepOutcome, type TextStepContext } from './step.js';

export type PostWriter = {
  /** A post keyed in its metadata: one that may have landed is looked up before it is sent again. */
  postOnce(channel: string, threadTs: string, key: string, body: { markdown_text: string }, priority: 'preacquired'): Promise<string>;
};

/** Posts finished words as a new message, keyed `<block>#<segment>`. */
export async function postText(ctx: TextStepContext, action: Extract<TextAction, { kind: 'post' }>, writer: PostWriter): Promise<StepOutcome> {
  const ts = await writer.postOnce(
    ctx.channel,
    ctx.threadTs,
    `${ctx.key}#${ctx.segments.length}`,
    { markdown_text: action.prefix + startOfMessage(action.text) + action.suffix },
    'preacquired',
  );
  const segments = [
    ...ctx.segments,
    { ts, mode: 'post' as const, ...carrying(action.text), prefix: action.prefix, closed: true, startedAt: ctx.now, lastWriteAt: ctx.now },
  ];
  await ctx.indexMessage(ts);
  return { kind: 'written', segments };
}
