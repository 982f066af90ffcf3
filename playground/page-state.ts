/**
 * What the page shows, read from the fake Slack: the channel's messages (thread replies
 * included) rendered to HTML by the playground's renderer, the thread status lines, the
 * messages only the reader sees (command answers, response_url posts, chat.postEphemeral)
 * and the modal the bot opened for the reader. Sent to the page whole on every change.
 */
import type { FakeSlack } from '../test/fakes/slack/index.js';
import { compareTs } from '../test/fakes/slack/clock.js';
import { mrkdwnToHtml } from './render/mrkdwn.js';
import { messageBodyHtml, reactionsHtml } from './render/message.js';
import { blocksToHtml, textObject } from './render/blocks.js';

export type PageMessage = {
  ts: string;
  /** The thread's root ts, for replies (absent for top-level messages). */
  threadTs?: string;
  author: string;
  isBot: boolean;
  /** HH:MM (UTC) of the ts. */
  time: string;
  html: string;
  replyCount: number;
  /** Shown to the reader only (an ephemeral message or a command's answer). */
  ephemeral?: boolean;
  /** chat.startStream has written it and chat.stopStream not yet. */
  streaming?: boolean;
  edited?: boolean;
};

export type PageModal = { viewId: string; title: string; submit: string; close: string; html: string };

export type PageState = {
  agent: 'demo' | 'api';
  me: { id: string; name: string };
  bot: { id: string; name: string };
  channel: { id: string; name: string };
  messages: PageMessage[];
  /** assistant.threads.setStatus text per thread root ts. */
  statuses: Record<string, string>;
  /** Slack's own session state per thread root ts: the loading messages it rotates and the agent session's status (agents.sessions.setStatus). */
  native: Record<string, { loading?: string[]; session?: 'active' | 'processing' | 'suspended' | 'closed' }>;
  modal?: PageModal;
};

/** A message only the reader sees, kept in arrival order with a ts minted when it arrived. */
export type Ephemeral = { ts: string; threadTs?: string; text?: string; blocks?: unknown[] };

export type PageInputs = {
  slack: FakeSlack;
  agent: 'demo' | 'api';
  me: { id: string; name: string };
  channel: { id: string; name: string };
  ephemerals: readonly Ephemeral[];
  closedViews: ReadonlySet<string>;
  fileHref: (fileId: string) => string | undefined;
};

export function pageState(inputs: PageInputs): PageState {
  const { slack, me, channel } = inputs;
  // As Slack shows mentions: a bot by its display name (`@agent`), a person by their name.
  const people = (id: string) => {
    if (id === me.id) return me.name;
    const user = slack.users.get(id);
    return user?.is_bot ? user.name : user?.real_name;
  };
  const options = { people, fileHref: inputs.fileHref };
  const stored = slack.messages(channel.id).filter((m) => !m.deleted);
  const replies = new Map<string, number>();
  for (const m of stored) if (m.thread_ts) replies.set(m.thread_ts, (replies.get(m.thread_ts) ?? 0) + 1);
  const messages: PageMessage[] = stored.map((m) => ({
    ts: m.ts,
    ...(m.thread_ts ? { threadTs: m.thread_ts } : {}),
    author: m.bot_id ? 'agent' : (people(m.user) ?? m.user),
    isBot: Boolean(m.bot_id),
    time: timeOf(m.ts),
    html: messageBodyHtml(m, options) + reactionsHtml(m.reactions, me.id),
    replyCount: replies.get(m.ts) ?? 0,
    ...(m.stream?.state === 'streaming' ? { streaming: true } : {}),
    ...(m.edited && !m.bot_id ? { edited: true } : {}),
  }));
  for (const e of inputs.ephemerals) {
    const body = e.blocks?.length ? blocksToHtml(e.blocks, options) : mrkdwnToHtml(e.text ?? '', options);
    messages.push({
      ts: e.ts,
      ...(e.threadTs ? { threadTs: e.threadTs } : {}),
      author: 'agent',
      isBot: true,
      time: timeOf(e.ts),
      html: `<div class="mrkdwn">${body}</div>`,
      replyCount: 0,
      ephemeral: true,
    });
  }
  messages.sort((a, b) => compareTs(a.ts, b.ts));
  const statuses: Record<string, string> = {};
  const native: PageState['native'] = {};
  for (const m of stored) {
    if (m.thread_ts) continue;
    const status = slack.statusOf(channel.id, m.ts);
    if (status) statuses[m.ts] = status;
    const loading = slack.assistantThread(channel.id, m.ts)?.loadingMessages;
    const session = slack.agentSession(channel.id, m.ts)?.status;
    if (loading?.length || session) native[m.ts] = { ...(loading?.length ? { loading: [...loading] } : {}), ...(session ? { session } : {}) };
  }
  const modal = openModal(inputs, options);
  return {
    agent: inputs.agent,
    me,
    bot: { id: slack.botUserId, name: 'agent' },
    channel,
    messages,
    statuses,
    native,
    ...(modal ? { modal } : {}),
  };
}

/** The newest modal opened for the reader and not yet submitted or cancelled. */
function openModal(inputs: PageInputs, options: Parameters<typeof blocksToHtml>[1]): PageModal | undefined {
  const views = [...inputs.slack.views.values()].filter((v) => v.user === inputs.me.id && !inputs.closedViews.has(v.id));
  const view = views.at(-1);
  if (!view) return undefined;
  // The fake keeps the blocks; the labels of the modal's buttons are in the views.open call.
  const opened = inputs.slack.callsTo('views.open').find((c) => (c.response.view as { id?: string } | undefined)?.id === view.id);
  const asked = (opened?.args.view ?? {}) as { submit?: unknown; close?: unknown };
  const label = (t: unknown, fallback: string) =>
    typeof t === 'object' && t !== null && typeof (t as { text?: unknown }).text === 'string' ? (t as { text: string }).text : fallback;
  return {
    viewId: view.id,
    title: textObject(view.title, options ?? {}),
    submit: label(asked.submit, 'Submit'),
    close: label(asked.close, 'Cancel'),
    html: blocksToHtml(view.blocks, options),
  };
}

function timeOf(ts: string): string {
  const at = new Date(Number(ts.split('.')[0]) * 1000);
  return `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
}
