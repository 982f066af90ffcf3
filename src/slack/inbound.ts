import { z } from 'zod';

/** Slack payloads as this bot reads them, parsed at the edge. Extra fields pass through. */

export const SlashCommandSchema = z
  .object({
    team_id: z.string().min(1),
    channel_id: z.string().min(1),
    user_id: z.string().min(1),
    command: z.string(),
    text: z.string().default(''),
    response_url: z.string().optional(),
  })
  .loose();
export type SlashCommand = z.infer<typeof SlashCommandSchema>;

export const MessageEventSchema = z
  .object({
    type: z.enum(['message', 'app_mention']),
    subtype: z.string().optional(),
    channel: z.string(),
    channel_type: z.string().optional(),
    user: z.string().optional(),
    bot_id: z.string().optional(),
    text: z.string().default(''),
    ts: z.string(),
    thread_ts: z.string().optional(),
    team: z.string().optional(),
    files: z.array(z.unknown()).optional(),
  })
  .loose();
export type MessageEvent = z.infer<typeof MessageEventSchema>;

export const ReactionAddedSchema = z
  .object({
    type: z.literal('reaction_added'),
    user: z.string(),
    reaction: z.string(),
    item: z.object({ type: z.string(), channel: z.string().optional(), ts: z.string().optional() }).loose(),
  })
  .loose();

export const EventEnvelopeSchema = z
  .object({
    event_id: z.string().optional(),
    team_id: z.string().optional(),
    authorizations: z.array(z.object({ team_id: z.string().nullable().optional() }).loose()).optional(),
  })
  .loose();

export const BlockActionSchema = z
  .object({
    type: z.literal('block_actions'),
    user: z.object({ id: z.string(), team_id: z.string().optional() }).loose(),
    team: z.object({ id: z.string() }).loose().nullable().optional(),
    channel: z.object({ id: z.string() }).loose().optional(),
    container: z
      .object({ message_ts: z.string().optional(), channel_id: z.string().optional(), thread_ts: z.string().optional() })
      .loose()
      .optional(),
    trigger_id: z.string().optional(),
    message: z.object({ ts: z.string(), thread_ts: z.string().optional(), text: z.string().optional() }).loose().optional(),
    actions: z
      .array(z.object({ action_id: z.string(), value: z.string().optional(), text: z.object({ text: z.string() }).loose().optional() }).loose())
      .min(1),
  })
  .loose();
export type BlockAction = z.infer<typeof BlockActionSchema>;

export const ViewSubmissionSchema = z
  .object({
    type: z.literal('view_submission'),
    user: z.object({ id: z.string(), team_id: z.string().optional() }).loose(),
    team: z.object({ id: z.string() }).loose().nullable().optional(),
    view: z
      .object({
        callback_id: z.string(),
        private_metadata: z.string().default(''),
        state: z
          .object({ values: z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullable().optional() }).loose())) })
          .loose()
          .optional(),
      })
      .loose(),
  })
  .loose();

export function teamOfEnvelope(body: z.infer<typeof EventEnvelopeSchema>, eventTeam?: string): string | undefined {
  return body.authorizations?.[0]?.team_id ?? body.team_id ?? eventTeam;
}

export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
}
