// Sends what Slack would send to the bot: signed to its HTTP endpoint (SlackSender,
// as Slack signs requests) or as envelopes over Socket Mode (SocketSender).
import { createHmac } from 'node:crypto';
import { mintId, nextTs } from './clock.js';
import type { FakeSlack, SocketAck } from './types.js';

export interface SignedResponse {
  status: number;
  body: string;
  json?: unknown;
  /** Wall time until the response arrived (Slack gives up after 3 s). */
  ms: number;
  /** For event(): the event_id sent, so a test can redeliver it. */
  eventId?: string;
}

export interface RawOptions {
  contentType?: string;
  /** Unix seconds to sign with and send (default now). */
  timestamp?: number;
  /** Send this X-Slack-Signature verbatim; null omits the header. */
  signature?: string | null;
  /** Sign with the wrong secret. */
  badSignature?: boolean;
  headers?: Record<string, string>;
}

// Bolt compares this literally: no charset suffix.
const FORM = 'application/x-www-form-urlencoded';

export interface CommandArgs {
  text: string;
  user?: string;
  channel?: string;
  command?: string;
}

/** Who the inbound payloads are addressed to; defaults from the fake. */
interface Addressee {
  fake: FakeSlack;
  team: string;
  apiAppId: string;
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export class SlackSender {
  private readonly url: string;
  private readonly secret: string;
  private readonly to: Addressee;

  constructor(opts: { url: string; signingSecret: string; fake: FakeSlack; team?: string; apiAppId?: string }) {
    this.url = opts.url;
    this.secret = opts.signingSecret;
    this.to = addressee(opts);
  }

  command(a: CommandArgs): Promise<SignedResponse> {
    return this.raw(new URLSearchParams(commandFields(this.to, a)).toString(), { contentType: FORM });
  }

  async event(event: Record<string, unknown>, o: { eventId?: string; retryNum?: number; retryReason?: string } = {}): Promise<SignedResponse> {
    const eventId = o.eventId ?? mintId('Ev');
    const envelope = eventCallback(this.to, event, eventId);
    const headers: Record<string, string> = {};
    if (o.retryNum !== undefined) headers['X-Slack-Retry-Num'] = String(o.retryNum);
    if (o.retryReason !== undefined) headers['X-Slack-Retry-Reason'] = o.retryReason;
    const res = await this.raw(JSON.stringify(envelope), { contentType: 'application/json', headers });
    return { ...res, eventId };
  }

  action(payload: Record<string, unknown>): Promise<SignedResponse> {
    const p = interaction(this.to, payload);
    return this.raw(new URLSearchParams({ payload: JSON.stringify(p) }).toString(), { contentType: FORM });
  }

  /** The person who opened a modal presses its submit button, with these input values. */
  submitView(viewId: string, values: Record<string, Record<string, string>>, user?: string): Promise<SignedResponse> {
    const p = viewSubmission(this.to, viewId, values, user);
    return this.raw(new URLSearchParams({ payload: JSON.stringify(p) }).toString(), { contentType: FORM });
  }

  async raw(body: string, o: RawOptions = {}): Promise<SignedResponse> {
    const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'Content-Type': o.contentType ?? 'application/json',
      'X-Slack-Request-Timestamp': String(timestamp),
      ...o.headers,
    };
    const signature = o.signature !== undefined ? o.signature : sign(o.badSignature ? `${this.secret}-wrong` : this.secret, timestamp, body);
    if (signature !== null) headers['X-Slack-Signature'] = signature;
    const started = performance.now();
    const res = await fetch(this.url, { method: 'POST', headers, body, redirect: 'manual' });
    const text = await res.text();
    const ms = performance.now() - started;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: text, json, ms };
  }
}

/**
 * Delivers what Slack would send over a Socket Mode connection: the same
 * payloads as SlackSender, as envelopes on `fake.socket`. Each call resolves with the ack.
 */
export class SocketSender {
  private readonly to: Addressee;

  constructor(opts: { fake: FakeSlack; team?: string; apiAppId?: string }) {
    this.to = addressee(opts);
  }

  /** Payload: the command fields as a JSON object (not form-encoded, unlike HTTP). */
  command(a: CommandArgs, o: { timeoutMs?: number } = {}): Promise<SocketAck> {
    return this.to.fake.socket.send('slash_commands', commandFields(this.to, a), o);
  }

  /** Payload: the whole event_callback body. Reuse `eventId` with `retryAttempt` to redeliver. */
  async event(
    event: Record<string, unknown>,
    o: { eventId?: string; retryAttempt?: number; retryReason?: string; timeoutMs?: number } = {},
  ): Promise<SocketAck & { eventId: string }> {
    const eventId = o.eventId ?? mintId('Ev');
    const send = { retryAttempt: o.retryAttempt, retryReason: o.retryReason, timeoutMs: o.timeoutMs };
    const ack = await this.to.fake.socket.send('events_api', eventCallback(this.to, event, eventId), send);
    return { ...ack, eventId };
  }

  /** Payload: the block_actions object, with `message` and response_url filled in as for HTTP. */
  action(payload: Record<string, unknown>, o: { timeoutMs?: number } = {}): Promise<SocketAck> {
    return this.to.fake.socket.send('interactive', interaction(this.to, payload), o);
  }
}

// --- payloads shared by both transports -----------------------------------------------

function addressee(o: { fake: FakeSlack; team?: string; apiAppId?: string }): Addressee {
  return { fake: o.fake, team: o.team ?? o.fake.team, apiAppId: o.apiAppId ?? o.fake.appId };
}

/**
 * Whoever acts in the workspace has an account there, so users.info knows them: a member
 * unless a test registered them first (e.g. as a guest with `is_restricted`).
 */
function knowPerson(fake: FakeSlack, id: unknown): void {
  if (typeof id === 'string' && id !== '' && !fake.users.has(id)) fake.users.set(id, { id, name: id.toLowerCase(), real_name: id });
}

/** Slash command fields, as Slack sends them (HTTP: form-encoded; Socket Mode: JSON). */
function commandFields(to: Addressee, a: CommandArgs): Record<string, string> {
  const user = a.user ?? 'U_HUMAN';
  knowPerson(to.fake, user);
  const channel = a.channel ?? 'C1';
  return {
    token: 'verification-token',
    team_id: to.team,
    team_domain: 'fake',
    channel_id: channel,
    channel_name: channel.startsWith('D') ? 'directmessage' : channel.toLowerCase(),
    user_id: user,
    user_name: user.toLowerCase(),
    command: a.command ?? '/agent',
    text: a.text,
    api_app_id: to.apiAppId,
    is_enterprise_install: 'false',
    response_url: to.fake.responseUrl(),
    trigger_id: `${Date.now()}.${mintId('trig')}`,
  };
}

/** The event_callback body; a human message in it is recorded in the fake first. */
function eventCallback(to: Addressee, event: Record<string, unknown>, eventId: string): Record<string, unknown> {
  knowPerson(to.fake, event.user);
  recordHumanMessage(to.fake, event);
  recordAssistantThread(to.fake, event);
  return {
    token: 'verification-token',
    team_id: to.team,
    context_team_id: to.team,
    context_enterprise_id: null,
    api_app_id: to.apiAppId,
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: to.team,
        user_id: to.fake.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}

/** An interaction payload with trigger_id, response_url and the clicked message filled in. */
function interaction(to: Addressee, payload: Record<string, unknown>): Record<string, unknown> {
  const user = (payload.user as { id?: string } | undefined)?.id;
  knowPerson(to.fake, user);
  const p: Record<string, unknown> = {
    api_app_id: to.apiAppId,
    ...payload,
    // Slack mints a fresh trigger per interaction; the fake must know it for views.open.
    trigger_id: to.fake.mintTrigger(user),
    response_url: payload.response_url ?? to.fake.responseUrl(),
  };
  fillMessageFromStore(to.fake, p);
  return p;
}

/** A view_submission as Slack sends it: the stored view with the inputs' state filled in. */
function viewSubmission(to: Addressee, viewId: string, values: Record<string, Record<string, string>>, userId?: string): Record<string, unknown> {
  const view = to.fake.views.get(viewId);
  if (!view) throw new Error(`fake slack: no open view ${viewId}`);
  const user = userId ?? view.user ?? 'U_HUMAN';
  const state: Record<string, Record<string, unknown>> = {};
  for (const [block, actions] of Object.entries(values)) {
    state[block] = Object.fromEntries(Object.entries(actions).map(([action, value]) => [action, { type: 'plain_text_input', value }]));
  }
  return {
    type: 'view_submission',
    team: { id: to.team, domain: 'fake' },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: to.team },
    api_app_id: to.apiAppId,
    token: 'verification-token',
    trigger_id: to.fake.mintTrigger(user),
    view: { ...view, state: { values: state } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** Human messages exist in Slack before the bot hears of them; make the fake know them too. */
function recordHumanMessage(fake: FakeSlack, event: Record<string, unknown>): void {
  const isHumanMessage =
    event.type === 'message' &&
    !event.bot_id &&
    (event.subtype === undefined || event.subtype === 'file_share' || event.subtype === 'thread_broadcast');
  if (!(isHumanMessage || event.type === 'app_mention')) return;
  if (typeof event.channel !== 'string' || typeof event.user !== 'string') return;
  if (typeof event.ts !== 'string') {
    event.ts = nextTs();
    event.event_ts ??= event.ts;
  }
  fake.addHumanMessage(event.channel, {
    user: event.user,
    text: typeof event.text === 'string' ? event.text : '',
    ts: event.ts as string,
    thread_ts: typeof event.thread_ts === 'string' ? event.thread_ts : undefined,
    files: Array.isArray(event.files) ? event.files : undefined,
    subtype: typeof event.subtype === 'string' ? event.subtype : undefined,
  });
}

/** The thread Slack opened for `assistant_thread_started` exists before the bot hears of it. */
function recordAssistantThread(fake: FakeSlack, event: Record<string, unknown>): void {
  if (event.type !== 'assistant_thread_started') return;
  const t = event.assistant_thread as { channel_id?: unknown; thread_ts?: unknown } | undefined;
  if (typeof t?.channel_id === 'string' && typeof t.thread_ts === 'string') fake.openAssistantThread(t.channel_id, t.thread_ts);
}

/** `message` in block_actions is the message holding the button: take it from the store. */
function fillMessageFromStore(fake: FakeSlack, p: Record<string, unknown>): void {
  const container = p.container as { channel_id?: string; message_ts?: string } | undefined;
  const message = p.message as Record<string, unknown> | undefined;
  if (!container?.channel_id || !container.message_ts || !message) return;
  const stored = fake.messages(container.channel_id).find((m) => m.ts === container.message_ts);
  const fill = {
    text: stored?.text ?? '',
    blocks: stored?.blocks ?? [],
    user: stored?.user ?? fake.botUserId,
    ...(stored ? (stored.bot_id ? { bot_id: stored.bot_id } : {}) : { bot_id: fake.botId }),
  };
  p.message = { ...fill, ...message };
  // Slack sends the pressed button's own label (and block id) with the action.
  const buttons = (fill.blocks as Array<{ block_id?: string; elements?: Array<{ action_id?: string; text?: unknown }> }>).flatMap((b) =>
    (b.elements ?? []).map((e) => ({ ...e, block_id: b.block_id })),
  );
  const actions = p.actions as Array<Record<string, unknown>> | undefined;
  for (const action of actions ?? []) {
    const button = buttons.find((e) => e.action_id === action.action_id) as
      | (Record<string, unknown> & { block_id?: string; text?: unknown })
      | undefined;
    // Feedback buttons have two halves: the action carries the clicked half's label.
    const half =
      action.type === 'feedback_buttons' && button
        ? [button.positive_button, button.negative_button].find((b) => (b as { value?: unknown } | undefined)?.value === action.value)
        : undefined;
    const text = half ? (half as { text?: unknown }).text : button?.text;
    if (text) action.text = text;
    if (button?.block_id) action.block_id = button.block_id;
  }
}
