/** The words of the small views the bot opens: the stop-all confirm, the deny dialog, a notice. */

/** `/agent stop-all`'s confirm step, shown only to the admin who asked. */
export const STOP_ALL_CONFIRM_WORDS = {
  fallback: 'Stop every running agent session?',
  question: 'Stop *every* running agent session in this workspace? Each one is interrupted, as if its Stop button were pressed.',
  confirm: 'Stop all sessions',
  cancel: 'Cancel',
} as const;

/** The modal a Deny opens; `toolName` comes already cut to fit the label. */
export function denyDialogWords(toolName: string | undefined): { title: string; submit: string; close: string; label: string } {
  return {
    title: 'Deny tool call',
    submit: 'Deny',
    close: 'Cancel',
    label: toolName ? `Why deny ${toolName}? The agent reads this.` : 'Why? The agent reads this.',
  };
}

/** A modal that only tells something (an answer to a global shortcut). */
export const NOTICE_MODAL_WORDS = { title: 'Agent', close: 'Close' } as const;
