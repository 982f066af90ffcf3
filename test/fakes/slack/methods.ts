import { checkMessage, checkView } from '../../../src/render/block-kit-check.js';
import { compareTs, mintId, nextTs } from './clock.js';
import type { MessageStore } from './store.js';
import type {
  Args,
  FakeAgentSession,
  FakeAssistantThread,
  FakeHomeView,
  FakeUpload,
  FakeUser,
  FakeView,
  MessageMetadata,
  StoredMessage,
} from './types.js';

/** Everything a method handler may read or change. */
export interface World {
  team: string;
  botUserId: string;
  botId: string;
  appId: string;
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  store: MessageStore;
  users: Map<string, FakeUser>;
  uploads: Map<string, FakeUpload>;
  statuses: Map<string, string>;
  /** Tickets minted by apps.connections.open, each good for one WebSocket connection. */
  socketTickets: Set<string>;
  /** trigger_id → when it was minted and for whom; each is good once, for 3 s. */
  triggers: Map<string, { at: number; user?: string }>;
  views: Map<string, FakeView>;
  /** Agent sessions by `channel:thread_ts`. */
  agentSessions: Map<string, FakeAgentSession>;
  /** assistant.threads.* state by `channel:thread_ts` (`channel:` for a DM without a thread). */
  assistantThreads: Map<string, FakeAssistantThread>;
  homeViews: Map<string, FakeHomeView>;
  now(): number;
  streamLifetimeMs: number;
}

export type Handler = (w: World, a: Args) => Record<string, unknown>;

/** Thrown by handlers; the router turns it into HTTP 200 `{ok:false, error, ...extra}`. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
  }
}

const fail = (code: string, ...messages: string[]): never => {
  throw new ApiError(code, messages.length ? { response_metadata: { messages } } : {});
};

const MAX_MARKDOWN = 12_000;
/** agents.sessions.* (the .d.ts): a title is 1–200 characters. */
const MAX_SESSION_TITLE = 200;
const SESSION_STATUSES = ['active', 'processing', 'suspended', 'closed'] as const;
/** assistant.threads.setStatus rotates at most 10 loading messages; setSuggestedPrompts offers at most 4. */
const MAX_LOADING_MESSAGES = 10;
const MAX_SUGGESTED_PROMPTS = 4;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}
/** An argument that should be an object (a chunk, a file entry); anything else reads as empty. */
function fields(v: unknown): Args {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Args) : {};
}
function bool(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}
const statusKey = (channel: string, threadTs: string) => `${channel}:${threadTs}`;

// --- channels -----------------------------------------------------------------------

function channelArg(a: Args, key = 'channel'): string {
  return str(a[key]) ?? fail('channel_not_found');
}

/** What Slack answers when the bot posts where it is not a member. */
function requireMember(w: World, channel: string): void {
  if (w.store.isMember(channel)) return;
  // A DM the bot is not part of is invisible to it, not merely "not joined".
  fail(channel.startsWith('D') ? 'channel_not_found' : 'not_in_channel');
}

function channelInfo(w: World, id: string): Record<string, unknown> {
  return {
    id,
    name: id.toLowerCase(),
    is_channel: id.startsWith('C'),
    is_group: id.startsWith('G'),
    is_im: id.startsWith('D'),
    is_mpim: false,
    is_private: !id.startsWith('C'),
    is_archived: false,
    is_member: w.store.isMember(id),
    created: 1_700_000_000,
  };
}

// --- message content ------------------------------------------------------------------

/**
 * Slack's Block Kit limits, checked by the same validator the bot's render tests use
 * (src/render/block-kit-check.ts): a message Slack would refuse is refused here, with
 * Slack's error code and a `[json-pointer:…]` message.
 */
function checked(args: Parameters<typeof checkMessage>[0], opts?: { requireContent?: boolean }): void {
  const problem = checkMessage(args, opts);
  if (problem) fail(problem.error, problem.message);
}

function validateBlocks(blocks: unknown): unknown[] {
  checked({ blocks }, { requireContent: false });
  return blocks as unknown[];
}

type Content = Pick<StoredMessage, 'text' | 'blocks' | 'attachments' | 'markdown_text'>;

/** text / blocks / attachments, or markdown_text alone (Slack refuses the mix). */
function content(a: Args): Partial<Content> {
  checked({ text: a.text, blocks: a.blocks, markdown_text: a.markdown_text, attachments: a.attachments });
  const markdown = str(a.markdown_text);
  if (markdown !== undefined) return { markdown_text: markdown, text: markdown };
  const text = typeof a.text === 'string' ? a.text : undefined;
  const blocks = a.blocks === undefined ? undefined : (a.blocks as unknown[]);
  const attachments = Array.isArray(a.attachments) ? a.attachments : undefined;
  return { text, blocks, attachments };
}

function metadata(v: unknown): MessageMetadata | undefined {
  if (v === undefined) return undefined;
  const m = v as Partial<MessageMetadata> | null;
  if (typeof m !== 'object' || m === null || typeof m.event_type !== 'string') return fail('invalid_metadata_format');
  if (m.event_payload !== undefined && (typeof m.event_payload !== 'object' || m.event_payload === null)) {
    return fail('invalid_metadata_format');
  }
  return { event_type: m.event_type, event_payload: m.event_payload ?? {} };
}

/** Resolves thread_ts to the root of that thread (a reply's ts lands in the same thread). */
function threadRoot(w: World, channel: string, threadTs: unknown): string | undefined {
  const ts = str(threadTs);
  if (ts === undefined) return undefined;
  const root = w.store.rootOf(channel, ts);
  if (!root || root.deleted) return fail('thread_not_found');
  return root.ts;
}

function postAsBot(w: World, channel: string, m: Partial<StoredMessage>): StoredMessage {
  const stored = w.store.insert(channel, { text: '', ...m, ts: nextTs(), user: w.botUserId, bot_id: w.botId });
  // Slack clears the "is thinking…" status (and its loading messages) when the app replies in the thread.
  if (stored.thread_ts) {
    w.statuses.delete(statusKey(channel, stored.thread_ts));
    const thread = w.assistantThreads.get(statusKey(channel, stored.thread_ts));
    if (thread) {
      delete thread.status;
      delete thread.loadingMessages;
    }
  }
  return stored;
}

function findOwn(w: World, a: Args, tsKey: string, notOwn: string): StoredMessage {
  const channel = channelArg(a);
  const ts = str(a[tsKey]) ?? fail('message_not_found');
  const m = w.store.find(channel, ts);
  if (!m || m.deleted) return fail('message_not_found');
  if (m.user !== w.botUserId) fail(notOwn);
  return m;
}

/** The message as the Web API shows it. */
export function render(w: World, m: StoredMessage, withMetadata: boolean): Record<string, unknown> {
  const replies =
    m.thread_ts === undefined
      ? w.store
          .thread(m.channel, m.ts)
          .slice(1)
          .filter((r) => !r.deleted)
      : [];
  const isReply = m.thread_ts !== undefined && m.thread_ts !== m.ts;
  const out: Record<string, unknown> = {
    type: 'message',
    subtype: m.subtype,
    user: m.user,
    bot_id: m.bot_id,
    app_id: m.bot_id ? w.appId : undefined,
    text: m.text,
    blocks: m.blocks,
    attachments: m.attachments,
    files: m.files,
    upload: m.files ? true : undefined,
    ts: m.ts,
    team: w.team,
    edited: m.edited,
    metadata: withMetadata ? m.metadata : undefined,
    reactions: m.reactions.length ? m.reactions.map((r) => ({ name: r.name, users: [...r.users], count: r.users.length })) : undefined,
  };
  if (isReply) {
    out.thread_ts = m.thread_ts;
    out.parent_user_id = w.store.find(m.channel, m.thread_ts!)?.user;
  } else if (replies.length) {
    const users = [...new Set(replies.map((r) => r.user))];
    Object.assign(out, {
      thread_ts: m.ts,
      reply_count: replies.length,
      reply_users: users,
      reply_users_count: users.length,
      latest_reply: replies.at(-1)!.ts,
    });
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

// --- streaming ------------------------------------------------------------------------

function streamContent(a: Args): { text: string; chunks: unknown[] } {
  const chunks = Array.isArray(a.chunks) ? a.chunks : [];
  const parts = [
    str(a.markdown_text) ?? '',
    ...chunks.map((c: unknown) => fields(c)).map((c) => (c.type === 'markdown_text' ? String(c.text ?? '') : '')),
  ];
  if (parts.some((p) => p.length > MAX_MARKDOWN)) fail('msg_too_long');
  return { text: parts.join(''), chunks };
}

function liveStream(w: World, a: Args): StoredMessage {
  const m = findOwn(w, a, 'ts', 'cant_update_message');
  const s = m.stream;
  if (s?.state !== 'streaming' || w.now() - s.startedAt > w.streamLifetimeMs) {
    if (s) s.state = 'stopped';
    return fail('message_not_in_streaming_state');
  }
  return m;
}

function appendToStream(m: StoredMessage, a: Args): void {
  const { text, chunks } = streamContent(a);
  m.text += text;
  m.markdown_text = m.text;
  m.stream!.chunks.push(...chunks);
}

// --- files ----------------------------------------------------------------------------

function fileObject(w: World, f: FakeUpload): Record<string, unknown> {
  return {
    id: f.id,
    name: f.filename,
    title: f.title ?? f.filename,
    mimetype: 'text/plain',
    filetype: 'text',
    size: f.content?.length ?? f.length,
    user: w.botUserId,
    created: Math.floor(Date.now() / 1000),
    permalink: `${w.baseUrl}/files/${f.id}`,
    url_private: `${w.baseUrl}/files/${f.id}`,
  };
}

// --- the methods ----------------------------------------------------------------------

const ok = (extra: Record<string, unknown> = {}) => ({ ok: true, ...extra });

export const METHODS: Record<string, Handler> = {
  'auth.test': (w) =>
    ok({
      url: `https://${w.team.toLowerCase()}.fake.slack.com/`,
      team: 'Fake Team',
      user: 'agent',
      team_id: w.team,
      user_id: w.botUserId,
      bot_id: w.botId,
      is_enterprise_install: false,
    }),

  // Authorised with the app-level token only (see the router); the ticket opens one connection.
  'apps.connections.open': (w) => {
    const ticket = mintId('tk');
    w.socketTickets.add(ticket);
    return ok({ url: `${w.baseUrl.replace(/^http/, 'ws')}/link?ticket=${ticket}` });
  },

  'chat.postMessage': (w, a) => {
    const channel = channelArg(a);
    requireMember(w, channel);
    const body = content(a);
    const meta = metadata(a.metadata);
    const thread_ts = threadRoot(w, channel, a.thread_ts);
    const m = postAsBot(w, channel, {
      ...body,
      metadata: meta,
      thread_ts,
      reply_broadcast: thread_ts && bool(a.reply_broadcast) ? true : undefined,
    });
    return ok({ channel, ts: m.ts, message: render(w, m, true) });
  },

  'chat.update': (w, a) => {
    const m = findOwn(w, a, 'ts', 'cant_update_message');
    const body = content(a);
    if (body.markdown_text !== undefined) {
      Object.assign(m, { markdown_text: body.markdown_text, text: body.markdown_text, blocks: undefined });
    } else {
      m.markdown_text = undefined;
      if (body.text !== undefined) m.text = body.text;
      if (body.blocks !== undefined) m.blocks = body.blocks;
      if (body.attachments !== undefined) m.attachments = body.attachments;
    }
    const meta = metadata(a.metadata);
    if (meta) m.metadata = meta;
    m.updatedCount += 1;
    m.edited = { user: w.botUserId, ts: nextTs() };
    return ok({ channel: m.channel, ts: m.ts, text: m.text, message: render(w, m, true) });
  },

  'chat.postEphemeral': (w, a) => {
    const channel = channelArg(a);
    str(a.user) ?? fail('user_not_found');
    requireMember(w, channel);
    content(a);
    return ok({ message_ts: nextTs() });
  },

  'chat.delete': (w, a) => {
    const m = findOwn(w, a, 'ts', 'cant_delete_message');
    m.deleted = true;
    return ok({ channel: m.channel, ts: m.ts });
  },

  'chat.startStream': (w, a) => {
    const channel = channelArg(a);
    requireMember(w, channel);
    if (!channel.startsWith('D')) {
      str(a.recipient_user_id) ?? fail('missing_recipient_user_id');
      str(a.recipient_team_id) ?? fail('missing_recipient_team_id');
    }
    const thread_ts = threadRoot(w, channel, a.thread_ts) ?? fail('invalid_arguments', '[ERROR] missing required field: thread_ts');
    const { text, chunks } = streamContent(a);
    const m = postAsBot(w, channel, {
      text,
      markdown_text: text,
      thread_ts,
      stream: { state: 'streaming', startedAt: w.now(), chunks },
    });
    return ok({ channel, ts: m.ts });
  },

  'chat.appendStream': (w, a) => {
    const m = liveStream(w, a);
    appendToStream(m, a);
    return ok({ channel: m.channel, ts: m.ts });
  },

  'chat.stopStream': (w, a) => {
    const m = liveStream(w, a);
    appendToStream(m, a);
    if (a.blocks !== undefined) m.blocks = validateBlocks(a.blocks);
    const meta = metadata(a.metadata);
    if (meta) m.metadata = meta;
    m.stream!.state = 'stopped';
    return ok({ channel: m.channel, ts: m.ts, message: render(w, m, true) });
  },

  'reactions.add': (w, a) => {
    const { m, name } = reactionTarget(w, a);
    const r = m.reactions.find((x) => x.name === name);
    if (r?.users.includes(w.botUserId)) fail('already_reacted');
    if (r) r.users.push(w.botUserId);
    else m.reactions.push({ name, users: [w.botUserId] });
    return ok();
  },

  'reactions.remove': (w, a) => {
    const { m, name } = reactionTarget(w, a);
    const r = m.reactions.find((x) => x.name === name);
    if (!r?.users.includes(w.botUserId)) return fail('no_reaction');
    r.users = r.users.filter((u) => u !== w.botUserId);
    if (!r.users.length) m.reactions = m.reactions.filter((x) => x !== r);
    return ok();
  },

  'reactions.get': (w, a) => {
    const channel = channelArg(a);
    const m = w.store.find(channel, str(a.timestamp) ?? '');
    if (!m || m.deleted) return fail('message_not_found');
    return ok({ type: 'message', channel, message: render(w, m, false) });
  },

  'conversations.replies': (w, a) => {
    const channel = channelArg(a);
    requireMember(w, channel);
    const ts = str(a.ts) ?? fail('invalid_arguments', '[ERROR] missing required field: ts');
    const hit = w.store.find(channel, ts);
    if (!hit || hit.deleted) return fail('thread_not_found');
    const rootTs = hit.thread_ts ?? hit.ts;
    const all = w.store.thread(channel, rootTs).filter((m) => !m.deleted);
    const { page, nextCursor } = pageByCursor(all, a, { defaultLimit: 1000, maxLimit: 1000 });
    const withMeta = bool(a.include_all_metadata);
    return ok({
      messages: page.map((m) => render(w, m, withMeta)),
      has_more: nextCursor !== '',
      response_metadata: { next_cursor: nextCursor },
    });
  },

  // Top-level messages (and thread broadcasts), newest first, as Slack pages them.
  'conversations.history': (w, a) => {
    const channel = channelArg(a);
    requireMember(w, channel);
    const oldest = str(a.oldest);
    const latest = str(a.latest);
    const inclusive = bool(a.inclusive);
    const inWindow = (ts: string) =>
      (oldest === undefined || (inclusive ? compareTs(ts, oldest) >= 0 : compareTs(ts, oldest) > 0)) &&
      (latest === undefined || (inclusive ? compareTs(ts, latest) <= 0 : compareTs(ts, latest) < 0));
    const all = w.store
      .list(channel)
      .filter((m) => !m.deleted && (m.thread_ts === undefined || m.reply_broadcast) && inWindow(m.ts))
      .reverse();
    const { page, nextCursor } = pageByCursor(all, a, { defaultLimit: 100, maxLimit: 999 });
    const withMeta = bool(a.include_all_metadata);
    return ok({
      messages: page.map((m) => render(w, m, withMeta)),
      has_more: nextCursor !== '',
      pin_count: 0,
      response_metadata: { next_cursor: nextCursor },
    });
  },

  'conversations.info': (w, a) => ok({ channel: channelInfo(w, channelArg(a)) }),

  'conversations.join': (w, a) => {
    const channel = channelArg(a);
    // Bots can join public channels only.
    if (!channel.startsWith('C')) fail('method_not_supported_for_channel_type');
    const already = w.store.isMember(channel);
    w.store.setMember(channel, true);
    return ok({
      channel: channelInfo(w, channel),
      ...(already ? { warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } } : {}),
    });
  },

  'users.info': (w, a) => {
    const u = w.users.get(str(a.user) ?? '') ?? fail('user_not_found');
    return ok({
      user: {
        id: u.id,
        team_id: w.team,
        name: u.name,
        real_name: u.real_name,
        tz: 'Etc/UTC',
        deleted: false,
        is_bot: u.is_bot ?? false,
        is_admin: u.is_admin ?? false,
        is_owner: false,
        is_restricted: u.is_restricted ?? u.is_ultra_restricted ?? false,
        is_ultra_restricted: u.is_ultra_restricted ?? false,
        is_app_user: false,
        profile: { display_name: u.name, real_name: u.real_name },
      },
    });
  },

  'assistant.threads.setStatus': (w, a) => {
    const channel = channelArg(a, 'channel_id');
    requireMember(w, channel);
    const thread_ts = str(a.thread_ts) ?? fail('invalid_arguments', '[ERROR] missing required field: thread_ts');
    if (typeof a.status !== 'string') fail('invalid_arguments', '[ERROR] missing required field: status');
    const loading = a.loading_messages;
    if (loading !== undefined) {
      if (!Array.isArray(loading) || loading.some((m) => typeof m !== 'string' || m === ''))
        fail('invalid_arguments', '[ERROR] must be an array of strings [json-pointer:/loading_messages]');
      if ((loading as unknown[]).length > MAX_LOADING_MESSAGES)
        fail('invalid_arguments', `[ERROR] no more than ${MAX_LOADING_MESSAGES} items allowed [json-pointer:/loading_messages]`);
    }
    const thread = assistantThread(w, channel, thread_ts);
    if (a.status) {
      w.statuses.set(statusKey(channel, thread_ts), a.status as string);
      thread.status = a.status as string;
      if (loading !== undefined) thread.loadingMessages = [...(loading as string[])];
    } else {
      w.statuses.delete(statusKey(channel, thread_ts));
      delete thread.status;
      delete thread.loadingMessages;
    }
    return ok();
  },

  // Under agent_view the Messages tab's prompts belong to the DM itself: thread_ts is optional.
  'assistant.threads.setSuggestedPrompts': (w, a) => {
    const channel = channelArg(a, 'channel_id');
    requireMember(w, channel);
    const prompts = a.prompts;
    if (!Array.isArray(prompts) || prompts.length === 0) return fail('invalid_arguments', '[ERROR] missing required field: prompts');
    if (prompts.length > MAX_SUGGESTED_PROMPTS)
      fail('invalid_arguments', `[ERROR] no more than ${MAX_SUGGESTED_PROMPTS} items allowed [json-pointer:/prompts]`);
    const read = prompts.map((p: unknown, i) => {
      const o = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
      const title = str(o.title) ?? fail('invalid_arguments', `[ERROR] missing required field: title [json-pointer:/prompts/${i}]`);
      const message = str(o.message) ?? fail('invalid_arguments', `[ERROR] missing required field: message [json-pointer:/prompts/${i}]`);
      return { title, message };
    });
    const thread = assistantThread(w, channel, str(a.thread_ts));
    thread.prompts = read;
    const title = str(a.title);
    if (title !== undefined) thread.promptsTitle = title;
    return ok();
  },

  'assistant.threads.setTitle': (w, a) => {
    const channel = channelArg(a, 'channel_id');
    requireMember(w, channel);
    const thread_ts = str(a.thread_ts) ?? fail('invalid_arguments', '[ERROR] missing required field: thread_ts');
    const title = str(a.title) ?? fail('invalid_arguments', '[ERROR] missing required field: title');
    assistantThread(w, channel, thread_ts).title = title;
    return ok();
  },

  // The first call on a thread creates its session (title and initiator count only then).
  'agents.sessions.setStatus': (w, a) => {
    const channel = channelArg(a, 'channel_id');
    requireMember(w, channel);
    const status = str(a.status);
    if (!status) return fail('invalid_arguments', '[ERROR] missing required field: status');
    if (!(SESSION_STATUSES as readonly string[]).includes(status))
      fail('invalid_arguments', `[ERROR] must be one of ${SESSION_STATUSES.join(', ')} [json-pointer:/status]`);
    const s = status as FakeAgentSession['status'];
    // Every channel here is a conversation (no session channels): sessions are thread-scoped.
    const thread_ts = threadRoot(w, channel, a.thread_ts) ?? fail('invalid_arguments', '[ERROR] missing required field: thread_ts');
    const title = str(a.title);
    if (title !== undefined && title.length > MAX_SESSION_TITLE)
      fail('invalid_arguments', `[ERROR] must be at most ${MAX_SESSION_TITLE} characters [json-pointer:/title]`);
    const key = statusKey(channel, thread_ts);
    const existing = w.agentSessions.get(key);
    if (existing) {
      existing.status = s;
      existing.history.push(s);
      return ok({ status: s, ...(existing.title !== undefined ? { title: existing.title } : {}) });
    }
    const initiator = str(a.initiator_user_id);
    const created: FakeAgentSession = {
      channel,
      threadTs: thread_ts,
      status: s,
      history: [s],
      ...(title !== undefined ? { title } : {}),
      ...(initiator !== undefined ? { initiator } : {}),
    };
    w.agentSessions.set(key, created);
    return ok({ status: s, ...(title !== undefined ? { title } : {}) });
  },

  'agents.sessions.rename': (w, a) => {
    const channel = channelArg(a, 'channel_id');
    requireMember(w, channel);
    const thread_ts = str(a.thread_ts) ?? fail('invalid_arguments', '[ERROR] missing required field: thread_ts');
    const title = str(a.title) ?? fail('invalid_arguments', '[ERROR] missing required field: title');
    if (title.length > MAX_SESSION_TITLE) fail('invalid_arguments', `[ERROR] must be at most ${MAX_SESSION_TITLE} characters [json-pointer:/title]`);
    // Slack does not document its code for a thread without a session; this one names it.
    const session = w.agentSessions.get(statusKey(channel, thread_ts)) ?? fail('session_not_found');
    session.title = title;
    return ok({ title });
  },

  // A Home tab per user; a `hash` from an older publish is refused, as Slack refuses a stale update.
  'views.publish': (w, a) => {
    const user = str(a.user_id) ?? fail('invalid_arguments', '[ERROR] missing required field: user_id');
    if (!w.users.has(user)) fail('user_not_found');
    const v = a.view;
    if (!v || typeof v !== 'object') return fail('invalid_arguments', '[ERROR] missing required field: view');
    const view = v as Record<string, unknown>;
    if (view.type !== 'home') fail('invalid_arguments', '[ERROR] must be one of home [json-pointer:/view/type]');
    const problem = checkView(view);
    if (problem) fail(problem.error, problem.message);
    const previous = w.homeViews.get(user);
    const hash = str(a.hash);
    if (hash !== undefined && previous && previous.hash !== hash) fail('hash_conflict');
    const published: FakeHomeView = {
      id: previous?.id ?? mintId('V'),
      user,
      hash: `${Math.floor(w.now() / 1000)}.${mintId('h')}`,
      blocks: view.blocks as Array<Record<string, unknown>>,
      private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      publishes: (previous?.publishes ?? 0) + 1,
    };
    w.homeViews.set(user, published);
    return ok({
      view: {
        id: published.id,
        team_id: w.team,
        type: 'home',
        blocks: published.blocks,
        private_metadata: published.private_metadata,
        callback_id: published.callback_id,
        hash: published.hash,
        app_id: w.appId,
        bot_id: w.botId,
      },
    });
  },

  'views.open': (w, a) => {
    const trigger = str(a.trigger_id) ?? fail('invalid_arguments', '[ERROR] missing required field: trigger_id');
    const minted = w.triggers.get(trigger) ?? fail('invalid_trigger_id');
    w.triggers.delete(trigger);
    if (w.now() - minted.at > 3000) fail('expired_trigger_id');
    const v = a.view;
    if (!v || typeof v !== 'object') fail('invalid_arguments', '[ERROR] missing required field: view');
    const view = v as Record<string, unknown>;
    if (view.type !== 'modal') fail('invalid_arguments', '[ERROR] must be one of modal, home [json-pointer:/view/type]');
    const problem = checkView(view);
    if (problem) fail(problem.error, problem.message);
    const title = view.title;
    const blocks = view.blocks;
    const metadata = typeof view.private_metadata === 'string' ? view.private_metadata : '';
    const opened: FakeView = {
      id: mintId('V'),
      team_id: w.team,
      app_id: w.appId,
      bot_id: w.botId,
      type: 'modal',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      private_metadata: metadata,
      title,
      blocks: blocks as Array<Record<string, unknown>>,
      state: { values: {} },
      hash: `${Math.floor(w.now() / 1000)}.${mintId('h')}`,
      ...(minted.user ? { user: minted.user } : {}),
    };
    w.views.set(opened.id, opened);
    return ok({ view: opened });
  },

  'files.getUploadURLExternal': (w, a) => {
    const filename = str(a.filename) ?? fail('invalid_arguments', '[ERROR] missing required field: filename');
    const length = Number(str(a.length) ?? fail('invalid_arguments', '[ERROR] missing required field: length'));
    const id = mintId('F');
    w.uploads.set(id, { id, filename, length });
    return ok({ upload_url: `${w.baseUrl}/upload/${id}`, file_id: id });
  },

  'files.completeUploadExternal': (w, a) => {
    if (!Array.isArray(a.files) || !a.files.length) return fail('invalid_arguments', '[ERROR] missing required field: files');
    const uploads = a.files.map((entry: unknown) => {
      const f = fields(entry);
      const u = w.uploads.get(String(f.id)) ?? fail('file_not_found');
      if (typeof f.title === 'string') u.title = f.title;
      return u;
    });
    const channel = str(a.channel_id) ?? str(a.channels);
    if (channel) {
      requireMember(w, channel);
      const thread_ts = threadRoot(w, channel, a.thread_ts);
      const files = uploads.map((u) => Object.assign(u, { channel, thread_ts }));
      // The comment becomes the text of the message that shares the files.
      if (a.initial_comment !== undefined) checked({ text: a.initial_comment }, { requireContent: false });
      postAsBot(w, channel, {
        text: str(a.initial_comment) ?? '',
        blocks: a.blocks === undefined ? undefined : validateBlocks(a.blocks),
        files: files.map((u) => fileObject(w, u)),
        thread_ts,
      });
    }
    return ok({ files: uploads.map((u) => fileObject(w, u)) });
  },
};

function assistantThread(w: World, channel: string, threadTs: string | undefined): FakeAssistantThread {
  const key = statusKey(channel, threadTs ?? '');
  let thread = w.assistantThreads.get(key);
  if (!thread) {
    thread = {};
    w.assistantThreads.set(key, thread);
  }
  return thread;
}

function reactionTarget(w: World, a: Args): { m: StoredMessage; name: string } {
  const channel = channelArg(a);
  const name = str(a.name);
  if (!name || name.startsWith(':') || name.endsWith(':')) return fail('invalid_name');
  const m = w.store.find(channel, str(a.timestamp) ?? '');
  if (!m || m.deleted) return fail('message_not_found');
  return { m, name };
}

/** Slack's cursor paging for message lists: `limit` clamped, the cursor names the next page's first ts. */
function pageByCursor<M extends { ts: string }>(
  all: M[],
  a: Record<string, unknown>,
  limits: { defaultLimit: number; maxLimit: number },
): { page: M[]; nextCursor: string } {
  const limit = Math.min(Math.max(Number(a.limit) || limits.defaultLimit, 1), limits.maxLimit);
  let start = 0;
  const cursor = str(a.cursor);
  if (cursor) {
    const next = Buffer.from(cursor, 'base64')
      .toString()
      .replace(/^next_ts:/, '');
    start = all.findIndex((m) => m.ts === next);
    if (start < 0) fail('invalid_cursor');
  }
  const after = all[start + limit];
  return { page: all.slice(start, start + limit), nextCursor: after ? Buffer.from(`next_ts:${after.ts}`).toString('base64') : '' };
}
