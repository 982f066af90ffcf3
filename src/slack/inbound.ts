import { z } from 'zod';
import { replyWords } from '../words/replies.js';

/** Slack payloads as this bot reads them, parsed at the edge. Extra fields pass through. */

export const SlashCommandSchema = z
  .object({
    team_id: z.string().min(1),
    channel_id: z.string().min(1),
    user_id: z.string().min(1),
    command: z.string(),
    text: z.string().default(''),
    response_url: z.string().optional(),
    /** Minted by Slack once per invocation: the dedupe key of a command delivered twice. */
    trigger_id: z.string().optional(),
  })
  .loose();

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

/** Slack's Stop on an agent session (the bot must move the status out of processing itself). */
export const AgentSessionStoppedSchema = z
  .object({ type: z.literal('agent_session_stopped'), channel: z.string().min(1), user: z.string().min(1), thread_ts: z.string().min(1) })
  .loose();

/** The Messages tab of an assistant_view app opened a thread. */
export const AssistantThreadStartedSchema = z
  .object({
    type: z.literal('assistant_thread_started'),
    assistant_thread: z.object({ user_id: z.string().min(1), channel_id: z.string().min(1), thread_ts: z.string().min(1) }).loose(),
  })
  .loose();

/** The app's Home tab or (agent_view) its Messages tab opened. */
export const AppHomeOpenedSchema = z
  .object({ type: z.literal('app_home_opened'), user: z.string().min(1), channel: z.string().min(1), tab: z.enum(['home', 'messages']).optional() })
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

// --- Which requests the bot handles, decided before Bolt sees them -----------------------
//
// Bolt 5.1 routes a request by the first of these that is present: `event`, `command`,
// `name` / block_suggestion (options), `actions` / dialog_submission, shortcut,
// message_action, view_submission / view_closed; anything else it drops without an ack
// (HTTP then answers 404 after 3 s). Its routing reads nested fields without checks, so a
// signed `{"event": null}` or a block action without `user` throws inside Bolt (an HTTP 500,
// or in Socket Mode an unhandled rejection). readInbound mirrors that order and lets through
// only requests Bolt and our listeners can read; everything else is answered here.

/** What registerHandlers listens to (events: those with a schema in EVENT_SCHEMAS). */
export type Listened = {
  commands: readonly string[];
  actions: (actionId: string) => boolean;
  views: readonly string[];
};

/** The events the bot has listeners for, each with the schema its listener reads it with. */
export const EVENT_SCHEMAS: Record<string, z.ZodType> = {
  message: MessageEventSchema,
  app_mention: MessageEventSchema,
  reaction_added: ReactionAddedSchema,
  agent_session_stopped: AgentSessionStoppedSchema,
  assistant_thread_started: AssistantThreadStartedSchema,
  app_home_opened: AppHomeOpenedSchema,
};

/** Out-of-band words for a person waiting on a request the bot could not handle. */
export type PrivateAnswer =
  | { via: 'response_url'; url: string; text: string }
  | { via: 'modal'; triggerId: string; text: string }
  | { via: 'ephemeral'; channel: string; user: string; text: string };

export type InboundVerdict =
  /** Readable, and a listener handles it: Bolt gets it. */
  | { kind: 'dispatch'; what: string }
  /**
   * Acknowledged here and not passed on. `ack`: the response body (the ephemeral answer
   * to a command, the challenge, an empty options list); `tell`: words sent afterwards;
   * `notable`: worth more than a debug line.
   */
  | { kind: 'acknowledge'; what: string; problem: string; ack?: Record<string, unknown>; tell?: PrivateAnswer; notable?: boolean };

/** What the edge tells a person whose request it did not pass on (the words are `replyWords`'). */
export const WORDS = {
  unreadableCommand: replyWords({ kind: 'command_unreadable' }),
  unknownCommand: replyWords({ kind: 'command_unknown' }),
  unreadableClick: replyWords({ kind: 'click_unreadable' }),
  unknownButton: replyWords({ kind: 'button_unknown' }),
  noShortcuts: replyWords({ kind: 'no_shortcuts' }),
} as const;

const EventCallbackSchema = EventEnvelopeSchema.extend({
  team_id: z.string().optional(),
  authorizations: z.array(z.object({ team_id: z.string().nullable().optional() }).loose()).optional(),
  // Bolt reads these with `in` and property access before any listener runs (`'channel' in
  // event.item`, `event.user.id`, `event.subteam.created_by`): a null or a string there throws.
  event: z
    .object({
      type: z.string().min(1),
      item: z.object({}).loose().optional(),
      user: z.union([z.string(), z.object({}).loose()]).optional(),
      channel: z.union([z.string(), z.object({}).loose()]).optional(),
      subteam: z.object({}).loose().optional(),
    })
    .loose(),
}).loose();

const InteractionSchema = z.object({ type: z.string() }).loose();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** Names from the payload go into log lines: keep them short. */
const label = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 60) : typeof v);

/** Where a person who clicked or chose something can be told why nothing happened. */
function replyTo(body: Record<string, unknown>, text: string): PrivateAnswer | undefined {
  const url = str(body.response_url);
  if (url) return { via: 'response_url', url, text };
  const user = isObject(body.user) ? str(body.user.id) : undefined;
  const channel = isObject(body.channel) ? str(body.channel.id) : undefined;
  if (user && channel) return { via: 'ephemeral', channel, user, text };
  const triggerId = str(body.trigger_id);
  return triggerId ? { via: 'modal', triggerId, text } : undefined;
}

const acknowledge = (what: string, problem: string, extra: Partial<Extract<InboundVerdict, { kind: 'acknowledge' }>> = {}): InboundVerdict => ({
  kind: 'acknowledge',
  what,
  problem,
  ...extra,
});

/**
 * One inbound body (HTTP: the parsed JSON or form; Socket Mode: the envelope's payload) →
 * hand it to Bolt, or answer it here. Pure.
 */
export function readInbound(body: unknown, listened: Listened): InboundVerdict {
  if (!isObject(body)) return acknowledge('unknown', 'payload is not an object');
  if (body.ssl_check === '1') return acknowledge('ssl_check', 'ssl check');
  if (body.type === 'url_verification') {
    const challenge = str(body.challenge);
    return challenge ? acknowledge('url_verification', 'url verification', { ack: { challenge } }) : acknowledge('url_verification', 'no challenge');
  }
  // Slack stopped sending events for a minute (over 30,000 an hour): nothing to answer, but worth a line.
  if (body.type === 'app_rate_limited')
    return acknowledge('app_rate_limited', 'Slack is dropping events for this app for a minute', { notable: true });

  if (body.event !== undefined) {
    const envelope = EventCallbackSchema.safeParse(body);
    if (!envelope.success)
      return acknowledge(`event:${isObject(body.event) ? label(body.event.type) : 'unreadable'}`, describeZodError(envelope.error));
    const type = envelope.data.event.type;
    const what = `event:${label(type)}`;
    const schema = Object.hasOwn(EVENT_SCHEMAS, type) ? EVENT_SCHEMAS[type] : undefined;
    if (!schema) return acknowledge(what, 'no listener for this event type');
    const event = schema.safeParse(envelope.data.event);
    return event.success ? { kind: 'dispatch', what } : acknowledge(what, describeZodError(event.error));
  }

  if (body.command !== undefined) {
    const what = `command:${label(body.command)}`;
    const command = SlashCommandSchema.safeParse(body);
    if (!command.success) return acknowledge(what, describeZodError(command.error), { ack: ephemeralAck(WORDS.unreadableCommand) });
    if (!listened.commands.includes(command.data.command))
      return acknowledge(what, 'no listener for this command', { ack: ephemeralAck(WORDS.unknownCommand) });
    return { kind: 'dispatch', what };
  }

  // A select menu asking for its options: an empty list is a complete answer.
  if (body.name !== undefined || body.type === 'block_suggestion')
    return acknowledge(`options:${label(body.type)}`, 'no options to offer', { ack: { options: [] } });

  if (body.actions !== undefined || body.type === 'dialog_submission') {
    const what = `${label(body.type)}:${Array.isArray(body.actions) && isObject(body.actions[0]) ? label(body.actions[0].action_id) : '?'}`;
    const tell = (text: string) => replyTo(body, text);
    if (body.type !== 'block_actions') return acknowledge(what, 'not a Block Kit action', withTell(tell(WORDS.unknownButton)));
    const action = BlockActionSchema.safeParse(body);
    if (!action.success) return acknowledge(what, describeZodError(action.error), withTell(tell(WORDS.unreadableClick)));
    // Bolt hands listeners the first action only.
    if (!listened.actions(action.data.actions[0]!.action_id))
      return acknowledge(what, 'no listener for this action', withTell(tell(WORDS.unknownButton)));
    return { kind: 'dispatch', what };
  }

  if (body.type === 'shortcut' || body.type === 'message_action') {
    return acknowledge(`${body.type}:${label(body.callback_id)}`, 'no shortcuts', withTell(replyTo(body, WORDS.noShortcuts)));
  }

  if (body.type === 'view_submission') {
    const view = ViewSubmissionSchema.safeParse(body);
    const what = `view_submission:${isObject(body.view) ? label(body.view.callback_id) : '?'}`;
    // An empty 200 closes the modal; its submitter learns nothing more, but nothing hangs.
    if (!view.success) return acknowledge(what, describeZodError(view.error));
    if (!listened.views.includes(view.data.view.callback_id)) return acknowledge(what, 'no listener for this view');
    return { kind: 'dispatch', what };
  }
  if (body.type === 'view_closed') return acknowledge('view_closed', 'nothing to do when a modal closes');

  const interaction = InteractionSchema.safeParse(body);
  return acknowledge(interaction.success ? `unknown:${label(interaction.data.type)}` : 'unknown', 'not a request kind this bot knows');
}

const ephemeralAck = (text: string) => ({ response_type: 'ephemeral', text });
const withTell = (tell: PrivateAnswer | undefined) => (tell ? { tell } : {});
