import { z } from 'zod';
import { defineTool } from './custom-tool.js';

export const ASK_USER = 'ask_user';

export const AskUserInput = z.object({
  // As long as a question card shows in full; a longer input is answered with is_error.
  question: z.string().trim().min(1).max(5000).describe('The question, in one or two sentences.'),
  choices: z
    .array(z.string().trim().min(1).max(300))
    .min(2)
    .max(5)
    .optional()
    .describe('Up to five short answers offered as buttons; people may still reply in their own words.'),
});
export type AskUserInput = z.infer<typeof AskUserInput>;

/**
 * Puts a question to the people in the thread and waits for the first answer from
 * someone allowed to decide (the session's owner or an approver), by button or reply.
 * The question message itself is part of the thread view, so it is rendered once and
 * survives restarts; this tool only waits for the answer the bridge records.
 */
export const askUser = defineTool({
  name: ASK_USER,
  description:
    'Ask the people in the Slack thread a question and wait for their answer. Use it when you need a decision ' +
    'or a fact only they have; offer `choices` when the answer is one of a few options. The answer may take minutes.',
  input: AskUserInput,
  async run(_input, ctx) {
    const answer = await ctx.awaitAnswer();
    // Files shared with the reply go with the answer: its text then says where they are.
    if (answer.attachments) return { text: `<@${answer.user}> answered: ${answer.attachments.text}`, blocks: answer.attachments.blocks };
    return `<@${answer.user}> answered: ${answer.text}`;
  },
});
