import { SlackCallError } from '../slack-writer.js';
import { carrying, type TextAction } from '../text-plan.js';
import type { StepOutcome, TextStepContext } from './step.js';
import { longAnswerFile } from '../../words/files.js';

export type AttachWriter = {
  reserveUpload(file: { filename: string; bytes: Buffer }): Promise<string>;
  filesInThread(channel: string, threadTs: string): Promise<Set<string>>;
  completeUploadsOnce(channel: string, threadTs: string, files: Array<{ id: string; title: string }>, comment: string): Promise<void>;
};

/**
 * Attaches an overlong answer, all of it, as a file. As with output files, the Slack file
 * id is reserved and recorded (as the block's intent) before the file is shared, so a
 * crash or an unknown outcome is settled by looking for it: `reserved` is that id.
 * Slack refusing the reserved file for good (expired, unknown) forgets it, so the next
 * pass reserves a new one.
 */
export async function attachAnswer(
  ctx: TextStepContext & { reserved: string | undefined; forgetIntent(): Promise<void> },
  action: Extract<TextAction, { kind: 'attach' }>,
  writer: AttachWriter,
): Promise<StepOutcome> {
  let fileId = ctx.reserved;
  const shared = fileId !== undefined && (await writer.filesInThread(ctx.channel, ctx.threadTs)).has(fileId);
  if (!shared) {
    if (!fileId) {
      fileId = await writer.reserveUpload({ filename: 'agent-answer.md', bytes: Buffer.from(action.fullText, 'utf8') });
      await ctx.intend({ key: ctx.key, segment: ctx.segments.length, kind: 'attach', fileId });
    }
    const { title, comment } = longAnswerFile(action.fullText.length);
    try {
      await writer.completeUploadsOnce(ctx.channel, ctx.threadTs, [{ id: fileId, title }], comment);
    } catch (error) {
      if (error instanceof SlackCallError && !error.transient) await ctx.forgetIntent();
      throw error;
    }
  }
  const segments = [
    ...ctx.segments,
    { ts: fileId!, mode: 'file' as const, ...carrying(action.rest), prefix: '', closed: true, startedAt: ctx.now, lastWriteAt: ctx.now },
  ];
  return { kind: 'written', segments };
}
