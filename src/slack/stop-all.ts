import type { SlackBody } from '../render/slack-message.js';

export const STOP_ALL_CONFIRM_ACTION_ID = 'stop_all_confirm';
export const STOP_ALL_CANCEL_ACTION_ID = 'stop_all_cancel';

/** `/agent sessions` (admins): what runs now. */
export const isListSessions = (text: string): boolean => /^\s*sessions\s*$/i.test(text);

/** `/agent stop-all` (any case, nothing after it). */
export const isStopAll = (text: string): boolean => /^\s*stop-all\s*$/i.test(text);

/**
 * The confirm step, shown only to the admin who asked: nothing stops until they press the
 * button. The buttons carry no value: the action id is all their handlers read.
 */
export function stopAllConfirm(): SlackBody {
  const question = 'Stop *every* running agent session in this workspace? Each one is interrupted, as if its Stop button were pressed.';
  return {
    text: 'Stop every running agent session?',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: question } },
      {
        type: 'actions',
        block_id: 'stop_all',
        elements: [
          {
            type: 'button',
            action_id: STOP_ALL_CONFIRM_ACTION_ID,
            style: 'danger',
            text: { type: 'plain_text', text: 'Stop all sessions' },
          },
          { type: 'button', action_id: STOP_ALL_CANCEL_ACTION_ID, text: { type: 'plain_text', text: 'Cancel' } },
        ],
      },
    ],
  };
}
