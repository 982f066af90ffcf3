import type { ThreadRef } from '../store/thread-records.js';
import { denyDialogWords, NOTICE_MODAL_WORDS, STOP_ALL_CONFIRM_WORDS } from '../words/dialogs.js';
import type { ModalView } from './block-kit.js';
import type { SlackBody } from './slack-message.js';
import { cutPlain } from './slack-limits.js';

export const STOP_ALL_CONFIRM_ACTION_ID = 'stop_all_confirm';
export const STOP_ALL_CANCEL_ACTION_ID = 'stop_all_cancel';

/**
 * The confirm step, shown only to the admin who asked: nothing stops until they press the
 * button. The buttons carry no value: the action id is all their handlers read.
 */
export function stopAllConfirm(): SlackBody {
  const w = STOP_ALL_CONFIRM_WORDS;
  return {
    text: w.fallback,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: w.question } },
      {
        type: 'actions',
        block_id: 'stop_all',
        elements: [
          { type: 'button', action_id: STOP_ALL_CONFIRM_ACTION_ID, style: 'danger', text: { type: 'plain_text', text: w.confirm } },
          { type: 'button', action_id: STOP_ALL_CANCEL_ACTION_ID, text: { type: 'plain_text', text: w.cancel } },
        ],
      },
    ],
  };
}

export const DENY_DIALOG_CALLBACK_ID = 'deny_reason';
/** Where the reason is in a submitted deny dialog (`readDenyDialog` in src/slack/deny-dialog.ts). */
export const DENY_REASON_BLOCK = 'reason';
export const DENY_REASON_ACTION = 'reason_input';
/** What a person may write (Slack's plain_text_input allows up to 3,000). */
const REASON_MAX = 1000;

/** The modal a Deny opens: the reason becomes the deny_message the agent reads. */
export function denyDialog(ref: ThreadRef, eventId: string, toolName: string | undefined): ModalView & { private_metadata: string } {
  const w = denyDialogWords(toolName === undefined ? undefined : cutPlain(toolName, 200));
  return {
    type: 'modal',
    callback_id: DENY_DIALOG_CALLBACK_ID,
    private_metadata: JSON.stringify({ ...ref, eventId }),
    title: { type: 'plain_text', text: w.title },
    submit: { type: 'plain_text', text: w.submit },
    close: { type: 'plain_text', text: w.close },
    blocks: [
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: w.label },
        element: { type: 'plain_text_input', action_id: DENY_REASON_ACTION, multiline: true, max_length: REASON_MAX },
      },
    ],
  };
}

/** A modal that only tells something. */
export function noticeModal(text: string): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: NOTICE_MODAL_WORDS.title },
    close: { type: 'plain_text', text: NOTICE_MODAL_WORDS.close },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  };
}
