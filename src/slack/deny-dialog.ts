import { z } from 'zod';
import type { ModalView } from '../render/block-kit.js';
import { cutPlain } from '../render/slack-limits.js';
import { ThreadRefSchema, type ThreadRef } from '../store/thread-records.js';

export const DENY_DIALOG_CALLBACK_ID = 'deny_reason';
const REASON_BLOCK = 'reason';
const REASON_ACTION = 'reason_input';
/** What a person may write (Slack's plain_text_input allows up to 3,000). */
const REASON_MAX = 1000;

/** What the dialog carries through Slack and back (private_metadata is ours, but still parsed). */
const DenyDialogMetadata = ThreadRefSchema.extend({ eventId: z.string().min(1) });

/** The modal a Deny opens: the reason becomes the deny_message the agent reads. */
export function denyDialog(ref: ThreadRef, eventId: string, toolName: string | undefined): ModalView & { private_metadata: string } {
  return {
    type: 'modal',
    callback_id: DENY_DIALOG_CALLBACK_ID,
    private_metadata: JSON.stringify({ ...ref, eventId }),
    title: { type: 'plain_text', text: 'Deny tool call' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: REASON_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: toolName ? `Why deny ${cutPlain(toolName, 200)}? The agent reads this.` : 'Why? The agent reads this.' },
        element: { type: 'plain_text_input', action_id: REASON_ACTION, multiline: true, max_length: REASON_MAX },
      },
    ],
  };
}

/** A submitted deny dialog: the tool call it denies and the reason given, or unreadable metadata. */
export type DenyDialogRead = { kind: 'read'; ref: ThreadRef; eventId: string; reason?: string } | { kind: 'unreadable' };

export function readDenyDialog(
  privateMetadata: string,
  values: Record<string, Record<string, { value?: string | null | undefined }>> | undefined,
): DenyDialogRead {
  let raw: unknown;
  try {
    raw = JSON.parse(privateMetadata);
  } catch {
    return { kind: 'unreadable' };
  }
  const parsed = DenyDialogMetadata.safeParse(raw);
  if (!parsed.success) return { kind: 'unreadable' };
  const { eventId, ...ref } = parsed.data;
  const reason = values?.[REASON_BLOCK]?.[REASON_ACTION]?.value?.trim();
  return { kind: 'read', ref, eventId, ...(reason ? { reason } : {}) };
}
