import type { ContextActionsBlock, ModalView } from '@slack/types';
import { z } from 'zod';
import { nativeWords } from '../words/native.js';
import { cutPlain } from './slack-limits.js';

export const FEEDBACK_ACTION_ID = 'answer_feedback';
export const FEEDBACK_DIALOG_CALLBACK_ID = 'feedback_note';
const NOTE_BLOCK = 'note';
const NOTE_ACTION = 'note_input';
/** What a person may write about a bad answer (Slack's plain_text_input allows up to 3,000). */
const NOTE_MAX = 1000;

/** What a click on a feedback half says: good or bad, and which turn's answer. */
export type FeedbackValue = { good: boolean; turn: number };

/** Slack's feedback buttons under a finished answer; each half's value names the turn. */
export function feedbackBlock(turn: number): ContextActionsBlock {
  return {
    type: 'context_actions',
    block_id: `feedback:${turn}`,
    elements: [
      {
        type: 'feedback_buttons',
        action_id: FEEDBACK_ACTION_ID,
        positive_button: { text: { type: 'plain_text', text: '👍' }, value: `good:${turn}`, accessibility_label: 'Good answer' },
        negative_button: { text: { type: 'plain_text', text: '👎' }, value: `bad:${turn}`, accessibility_label: 'Bad answer' },
      },
    ],
  };
}

export function readFeedbackValue(value: string): FeedbackValue | undefined {
  const m = /^(good|bad):(\d{1,6})$/.exec(value);
  return m ? { good: m[1] === 'good', turn: Number(m[2]) } : undefined;
}

/** Where a feedback note belongs, carried through Slack in the dialog's private_metadata. */
const FeedbackNoteTargetSchema = z.object({
  team: z.string().min(1),
  channel: z.string().min(1),
  threadTs: z.string().min(1),
  turn: z.number().int().nonnegative(),
});
export type FeedbackNoteTarget = z.infer<typeof FeedbackNoteTargetSchema>;

/** The "what went wrong?" dialog a 👎 opens; its text is kept with the click. */
export function feedbackDialog(target: FeedbackNoteTarget): ModalView & { private_metadata: string } {
  return {
    type: 'modal',
    callback_id: FEEDBACK_DIALOG_CALLBACK_ID,
    private_metadata: JSON.stringify(target),
    title: { type: 'plain_text', text: nativeWords({ kind: 'feedback_dialog_title' }) },
    submit: { type: 'plain_text', text: nativeWords({ kind: 'feedback_dialog_submit' }) },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: NOTE_BLOCK,
        label: { type: 'plain_text', text: cutPlain(nativeWords({ kind: 'feedback_dialog_label' }), 2000) },
        element: { type: 'plain_text_input', action_id: NOTE_ACTION, multiline: true, max_length: NOTE_MAX },
      },
    ],
  };
}

/** A submitted 👎 dialog: its thread and turn, and the note (trimmed, cut to fit); `unreadable` if its metadata is not ours. */
export type FeedbackDialogRead = { kind: 'read'; target: FeedbackNoteTarget; note: string } | { kind: 'unreadable' };

export function readFeedbackDialog(
  privateMetadata: string,
  values: Record<string, Record<string, { value?: string | null | undefined }>> | undefined,
): FeedbackDialogRead {
  let raw: unknown;
  try {
    raw = JSON.parse(privateMetadata);
  } catch {
    return { kind: 'unreadable' };
  }
  const parsed = FeedbackNoteTargetSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'unreadable' };
  const note = values?.[NOTE_BLOCK]?.[NOTE_ACTION]?.value?.trim() ?? '';
  return { kind: 'read', target: parsed.data, note: note.slice(0, NOTE_MAX) };
}
