import { z } from 'zod';
import { DENY_REASON_ACTION, DENY_REASON_BLOCK } from '../render/dialogs.js';
import { ThreadRefSchema, type ThreadRef } from '../store/thread-records.js';

/** What the dialog carries through Slack and back (private_metadata is ours, but still parsed). */
const DenyDialogMetadata = ThreadRefSchema.extend({ eventId: z.string().min(1) });

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
  const reason = values?.[DENY_REASON_BLOCK]?.[DENY_REASON_ACTION]?.value?.trim();
  return { kind: 'read', ref, eventId, ...(reason ? { reason } : {}) };
}
