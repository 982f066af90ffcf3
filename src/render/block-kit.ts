/**
 * Block Kit as @slack/types declares it: every card is built from these, so a
 * misspelt field or a wrong element type is a compile error, not a Slack refusal.
 * Types only: rendering stays free of Slack's runtime code.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, ModalView, SectionBlock } from '@slack/types';

export type { ActionsBlock, Button, ContextBlock, KnownBlock, ModalView, SectionBlock };

/** One mrkdwn section. */
export function section(text: string): SectionBlock & { text: { type: 'mrkdwn'; text: string } } {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** One context line in mrkdwn. */
export function context(text: string): ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}
