// Inbound payload builders (events, commands, interactions as Slack documents them). Each returns the bare event (or interaction
// payload); SlackSender wraps it. Defaults match startFakeSlack's defaults.
import { randomUUID } from 'node:crypto';
import { mintId, nextTs } from './clock.js';

type Event = Record<string, unknown>;

const TEAM = 'T1';
const BOT_USER = 'U_BOT';
const BOT_ID = 'B_BOT';
const APP_ID = 'A_APP';

export function channelType(channel: string): 'channel' | 'group' | 'im' | 'mpim' {
  return channel.startsWith('D') ? 'im' : channel.startsWith('G') ? 'group' : 'channel';
}

function richText(text: string): unknown[] {
  return [
    {
      type: 'rich_text',
      block_id: mintId('rt'),
      elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }],
    },
  ];
}

interface HumanArgs {
  channel: string;
  user: string;
  text: string;
  ts?: string;
  team?: string;
  /** File objects (from `fake.addFile`): the message then carries `files` and `upload: true`. */
  files?: unknown[];
}

function humanMessage(a: HumanArgs & { thread_ts?: string; subtype?: string; parent_user_id?: string }): Event {
  const ts = a.ts ?? nextTs();
  const e: Event = {
    type: 'message',
    ...(a.subtype ? { subtype: a.subtype } : {}),
    user: a.user,
    text: a.text,
    blocks: richText(a.text),
    ts,
    ...(a.thread_ts ? { thread_ts: a.thread_ts, parent_user_id: a.parent_user_id ?? BOT_USER } : {}),
    channel: a.channel,
    channel_type: channelType(a.channel),
    event_ts: ts,
    team: a.team ?? TEAM,
    client_msg_id: randomUUID(),
    ...(a.files?.length ? { files: a.files, upload: true, display_as_bot: false } : {}),
  };
  // A message that shares files is a `file_share` message (app_mention keeps no subtype).
  if (a.files?.length && !a.subtype) e.subtype = 'file_share';
  return e;
}

/** A human reply in a thread. `subtype` e.g. 'thread_broadcast' or 'file_share'. */
export function humanReply(a: HumanArgs & { thread_ts: string; subtype?: string; parent_user_id?: string }): Event {
  return humanMessage(a);
}

export function topLevelMessage(a: HumanArgs & { subtype?: string }): Event {
  return humanMessage(a);
}

/** A DM to the bot (`channel` 'D…'), channel_type 'im'. */
export function dmMessage(a: HumanArgs & { thread_ts?: string }): Event {
  return { ...humanMessage(a), channel_type: 'im' };
}

/** `text` gets a `<@U_BOT>` prefix unless it already mentions the bot. */
export function appMention(a: HumanArgs & { thread_ts?: string; botUserId?: string }): Event {
  const mention = `<@${a.botUserId ?? BOT_USER}>`;
  const text = a.text.includes(mention) ? a.text : `${mention} ${a.text}`;
  const m = humanMessage({ ...a, text });
  delete m.channel_type;
  delete m.parent_user_id;
  delete m.subtype;
  return { ...m, type: 'app_mention' };
}

/** What Slack echoes after the bot posts: a `message` with bot_id and user U_BOT, no subtype. */
export function botEcho(a: { channel: string; text: string; ts: string; thread_ts?: string; team?: string }): Event {
  return {
    type: 'message',
    user: BOT_USER,
    bot_id: BOT_ID,
    app_id: APP_ID,
    bot_profile: { id: BOT_ID, app_id: APP_ID, name: 'agent', team_id: a.team ?? TEAM },
    text: a.text,
    ts: a.ts,
    ...(a.thread_ts ? { thread_ts: a.thread_ts, parent_user_id: BOT_USER } : {}),
    channel: a.channel,
    channel_type: channelType(a.channel),
    event_ts: a.ts,
    team: a.team ?? TEAM,
  };
}

/** An edit. Like Slack, the new text is under `message` and there is no top-level thread_ts. */
export function messageChanged(a: {
  channel: string;
  ts: string;
  text: string;
  user?: string;
  previousText?: string;
  thread_ts?: string;
  bot_id?: string;
}): Event {
  const eventTs = nextTs();
  const user = a.user ?? BOT_USER;
  const inner = {
    type: 'message',
    user,
    ...(a.bot_id ? { bot_id: a.bot_id } : {}),
    ts: a.ts,
    ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}),
  };
  return {
    type: 'message',
    subtype: 'message_changed',
    hidden: true,
    message: { ...inner, text: a.text, edited: { user, ts: eventTs } },
    previous_message: { ...inner, text: a.previousText ?? '' },
    channel: a.channel,
    channel_type: channelType(a.channel),
    ts: eventTs,
    event_ts: eventTs,
  };
}

export function messageDeleted(a: { channel: string; ts: string; user?: string; text?: string; thread_ts?: string }): Event {
  const eventTs = nextTs();
  return {
    type: 'message',
    subtype: 'message_deleted',
    hidden: true,
    deleted_ts: a.ts,
    previous_message: {
      type: 'message',
      user: a.user ?? BOT_USER,
      text: a.text ?? '',
      ts: a.ts,
      ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}),
    },
    channel: a.channel,
    channel_type: channelType(a.channel),
    ts: eventTs,
    event_ts: eventTs,
  };
}

/** No thread_ts, as in Slack: only `item.ts`. */
export function reactionAdded(a: { user: string; reaction: string; channel: string; ts: string; item_user?: string }): Event {
  return {
    type: 'reaction_added',
    user: a.user,
    reaction: a.reaction,
    item_user: a.item_user ?? BOT_USER,
    item: { type: 'message', channel: a.channel, ts: a.ts },
    event_ts: nextTs(),
  };
}

/**
 * A button click on a message. `message` content (text/blocks/user) is filled in by
 * SlackSender.action from the fake's store when omitted; response_url likewise.
 */
export function blockAction(a: {
  user: string;
  channel: string;
  messageTs: string;
  threadTs?: string;
  actionId: string;
  /** Absent for a button that carries no value: Slack then sends none. */
  value?: string;
  blockId?: string;
  message?: Record<string, unknown>;
  team?: string;
}): Event {
  const team = a.team ?? TEAM;
  return {
    type: 'block_actions',
    api_app_id: APP_ID,
    token: 'verification-token',
    trigger_id: `${Date.now()}.${mintId('trig')}`,
    user: { id: a.user, username: a.user.toLowerCase(), name: a.user.toLowerCase(), team_id: team },
    team: { id: team, domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: a.channel, name: a.channel.toLowerCase() },
    container: {
      type: 'message',
      message_ts: a.messageTs,
      channel_id: a.channel,
      is_ephemeral: false,
      ...(a.threadTs ? { thread_ts: a.threadTs } : {}),
    },
    message: {
      type: 'message',
      ts: a.messageTs,
      ...(a.threadTs ? { thread_ts: a.threadTs } : {}),
      ...a.message,
    },
    state: { values: {} },
    actions: [
      {
        type: 'button',
        action_id: a.actionId,
        block_id: a.blockId ?? 'actions',
        ...(a.value !== undefined ? { value: a.value } : {}),
        text: { type: 'plain_text', text: a.actionId, emoji: true },
        action_ts: `${(Date.now() / 1000).toFixed(6)}`,
      },
    ],
  };
}

/**
 * A click on one half of Slack's feedback buttons (a `feedback_buttons` element in a
 * `context_actions` block): a block_actions whose action has `type: 'feedback_buttons'` and
 * the clicked half's `value`. SlackSender fills in the message and the half's label.
 */
export function feedbackClick(a: {
  user: string;
  channel: string;
  messageTs: string;
  threadTs?: string;
  actionId: string;
  value: string;
  team?: string;
}): Event {
  const click = blockAction({ ...a });
  const [action] = click.actions as Array<Record<string, unknown>>;
  action!.type = 'feedback_buttons';
  return click;
}

/** The Messages tab of an assistant_view app opened: Slack opens a DM thread for it. */
export function assistantThreadStarted(a: { user: string; channel: string; threadTs: string; contextChannel?: string; team?: string }): Event {
  return {
    type: 'assistant_thread_started',
    assistant_thread: {
      user_id: a.user,
      context: { ...(a.contextChannel ? { channel_id: a.contextChannel } : {}), team_id: a.team ?? TEAM, enterprise_id: null },
      channel_id: a.channel,
      thread_ts: a.threadTs,
    },
    event_ts: nextTs(),
  };
}

/** The person opened the app's Home tab, or (agent_view) its Messages tab. */
export function appHomeOpened(a: { user: string; channel: string; tab: 'home' | 'messages' }): Event {
  return { type: 'app_home_opened', user: a.user, channel: a.channel, tab: a.tab, event_ts: nextTs() };
}
