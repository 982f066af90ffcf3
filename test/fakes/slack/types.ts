export type Args = Record<string, unknown>;

export interface ApiCall {
  method: string;
  /** Arguments as the fake parsed them: JSON fields decoded, `token` removed. */
  args: Args;
  /** Arrival time (ms since epoch). `calls` is in completion order. */
  at: number;
  /** HTTP status answered; 0 when the connection was dropped instead (`drop`). */
  status: number;
  response: Record<string, unknown>;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  user: string;
  bot_id?: string;
  subtype?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  markdown_text?: string;
  metadata?: MessageMetadata;
  files?: unknown[];
  reply_broadcast?: boolean;
  reactions: Array<{ name: string; users: string[] }>;
  updatedCount: number;
  edited?: { user: string; ts: string };
  deleted?: boolean;
  /** Present on messages created by chat.startStream. */
  stream?: { state: 'streaming' | 'stopped'; startedAt: number; chunks: unknown[] };
}

export interface FakeUser {
  id: string;
  name: string;
  real_name: string;
  is_bot?: boolean;
  /** Multi-channel guest. */
  is_restricted?: boolean;
  /** Single-channel guest (Slack sets is_restricted too). */
  is_ultra_restricted?: boolean;
  is_admin?: boolean;
}

/** A modal opened with views.open, kept so a test can submit it as a person would. */
export interface FakeView {
  id: string;
  team_id: string;
  app_id: string;
  bot_id: string;
  type: 'modal';
  callback_id: string;
  private_metadata: string;
  title: unknown;
  blocks: Array<Record<string, unknown>>;
  state: { values: Record<string, Record<string, unknown>> };
  hash: string;
  /** Who the trigger belonged to (the person who clicked). */
  user?: string;
}

/** An agent session Slack keeps for a thread (agents.sessions.setStatus creates it). */
export interface FakeAgentSession {
  channel: string;
  threadTs: string;
  status: 'active' | 'processing' | 'suspended' | 'closed';
  /** Every status set, in order (the first one created the session). */
  history: Array<'active' | 'processing' | 'suspended' | 'closed'>;
  title?: string;
  initiator?: string;
}

/** What assistant.threads.* left on a thread (or, without thread_ts, on the DM itself). */
export interface FakeAssistantThread {
  status?: string;
  loadingMessages?: string[];
  title?: string;
  prompts?: Array<{ title: string; message: string }>;
  promptsTitle?: string;
}

/** A Home tab published with views.publish, per user. */
export interface FakeHomeView {
  id: string;
  user: string;
  hash: string;
  blocks: Array<Record<string, unknown>>;
  private_metadata: string;
  callback_id: string;
  /** How many times it was published. */
  publishes: number;
}

export interface FakeUpload {
  id: string;
  filename: string;
  length: number;
  title?: string;
  /** Bytes POSTed to the upload_url (field `body`); undefined until then. */
  content?: Buffer;
  channel?: string;
  thread_ts?: string;
}

/** A file a human shared, served at its `url_private_download` to the bot token only. */
export interface FakeHostedFile {
  id: string;
  name: string;
  mimetype: string;
  content: Buffer;
  /** Overrides the `size` the file object claims (Slack reports it; tests can lie to test limits). */
  size?: number;
}

export interface FakeDownload {
  fileId: string;
  /** Whether the request carried the bot token with files:read (otherwise it got the HTML login page). */
  authorized: boolean;
}

export interface Failure {
  /** Answer HTTP 200 `{ok:false, error}`. */
  error?: string;
  /** Answer this HTTP status (e.g. 500) with a JSON error body. */
  status?: number;
  /** Answer 429 with this `Retry-After` (integer seconds). */
  retryAfter?: number;
  /** How many consecutive calls this applies to (default 1). */
  times?: number;
  /** With `status` or `drop`: apply the call first, then answer the error ("landed but failed"). */
  afterApply?: boolean;
  /** Destroy the connection instead of answering (the client sees a dropped connection). */
  drop?: boolean;
  /** Hold the call until this settles, then answer as the other fields say (normally if none). */
  hold?: Promise<unknown>;
  /** Applies only to calls whose arguments match (e.g. the first approval card); others pass untouched. */
  match?: (args: Args) => boolean;
}

/** Token bucket per workspace × method (× channel when `perChannel`). */
export interface RateLimit {
  perMinute: number;
  burst: number;
  perChannel?: boolean;
  /** A per-channel method's second limit, shared by all channels of the workspace (postMessage). */
  workspace?: { perMinute: number; burst: number };
}

export interface FakeSlackOptions {
  botToken?: string;
  /** App-level token, accepted only by apps.connections.open (default 'xapp-test'). */
  appToken?: string;
  team?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  enforceRateLimits?: boolean;
  /** Overrides/extends the default limits (used only with enforceRateLimits). */
  rateLimits?: Record<string, RateLimit>;
  /** Clock for rate-limit refill and stream expiry; tests can advance it. Default Date.now. */
  now?: () => number;
  /** chat.*Stream calls fail with message_not_in_streaming_state after this (default 300 s). */
  streamLifetimeMs?: number;
}

export interface FakeSlack {
  apiUrl: string;
  close(): Promise<void>;
  calls: ApiCall[];
  callsTo(method: string): ApiCall[];
  /** Every 429 answered, injected or from rate limiting. */
  readonly rateLimited: ApiCall[];
  messages(channel: string): StoredMessage[];
  thread(channel: string, threadTs: string): StoredMessage[];
  addHumanMessage(
    channel: string,
    m: { user: string; text: string; thread_ts?: string; files?: unknown[]; ts?: string; subtype?: string },
  ): StoredMessage;
  /**
   * A thread of the app's DM opened from Slack's agent pane (what `assistant_thread_started`
   * names): its root is there before the person writes in it. Idempotent by ts.
   */
  openAssistantThread(channel: string, threadTs: string): StoredMessage;
  failNext(method: string, failure: Failure): void;
  /**
   * Consulted for every Web API call that `failNext` has nothing queued for: a failure to
   * inject, or undefined to answer normally (seeded random faults).
   */
  faults: ((call: { method: string; args: Args }) => Failure | undefined) | undefined;
  /**
   * Called when a Web API method has been applied (ok) and before its answer is sent, with
   * how many times that method has been applied so far (1-based). Awaited: a test can kill
   * the caller here, in the gap between "Slack took it" and "the caller knows it".
   */
  onApplied: ((method: string, n: number, args: Args) => void | Promise<void>) | undefined;
  setMember(channel: string, isMember: boolean): void;
  isMember(channel: string): boolean;
  responseUrlPosts: Array<{ url: string; body: Record<string, unknown> }>;
  responseUrl(): string;
  /** A trigger_id as Slack mints one per interaction: good once, for 3 s. */
  mintTrigger(user?: string): string;
  /** Modals opened with views.open, by view id. */
  readonly views: Map<string, FakeView>;
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Calls `listener` after every change `waitFor` would look at (a call answered, a message added, …); returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  /**
   * A person adds a reaction, as Slack records it before it sends `reaction_added`
   * (reactions.get shows it). The event itself is the sender's job.
   */
  addReaction(channel: string, ts: string, name: string, user: string): void;
  users: Map<string, FakeUser>;
  uploads: Map<string, FakeUpload>;
  /**
   * Registers a file a human shares; returns the file object as message events carry it
   * (`id, name, mimetype, size, url_private, url_private_download, …`), ready for `files: [...]`.
   */
  addFile(f: { name: string; content: Buffer | string; mimetype?: string; size?: number; user?: string }): Record<string, unknown>;
  /** Every GET of a hosted file's url_private(_download), in order. */
  readonly downloads: FakeDownload[];
  /**
   * Whether the bot token has `files:read` (default true). Without it Slack serves the HTML
   * login page for url_private_download even to the right token.
   */
  filesRead: boolean;
  /** Current assistant.threads.setStatus text; cleared by a bot reply in the thread, as in Slack. */
  statusOf(channel: string, threadTs: string): string | undefined;
  /** What assistant.threads.* set on a thread (`threadTs` omitted: on the DM channel itself). */
  assistantThread(channel: string, threadTs?: string): FakeAssistantThread | undefined;
  /** The agent session on a thread, if agents.sessions.setStatus made one. */
  agentSession(channel: string, threadTs: string): FakeAgentSession | undefined;
  /**
   * Makes every agents.sessions.* and assistant.threads.* call answer `error` (an app that
   * is not an agent, a plan without the feature, a scope not granted); undefined lifts it.
   * `missing_scope` comes with Slack's `needed` / `provided` fields.
   */
  refuseAgentFeatures(error: string | undefined): void;
  /** Home tabs published with views.publish, by user id. */
  readonly homeViews: Map<string, FakeHomeView>;
  /**
   * The event Slack sends when a person presses the native Stop of an agent session: only
   * offered while the session is `processing` (throws otherwise: there is no Stop to press).
   * `streaming_message_ts` lists the bot's streams still open in the thread.
   */
  agentSessionStopped(channel: string, threadTs: string, user: string): Record<string, unknown>;
  /** Mints a ts from the same clock the fake uses. */
  nextTs(): string;
  /** Socket Mode: the WebSocket behind apps.connections.open. */
  readonly socket: FakeSocket;
  readonly appToken: string;
  readonly team: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
}

// --- Socket Mode (what @slack/socket-mode's client needs from a fake) ------

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

/** What the fake sends over the WebSocket, as Slack does. */
export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketAck {
  envelope_id: string;
  /** The ack body (`{}` for a bare `ack()`); for a command, what the user would see. */
  payload?: Record<string, unknown>;
  /** Wall time from sending the envelope to the ack (Slack gives up after 3 s). */
  ms: number;
}

export interface SocketSendOptions {
  retryAttempt?: number;
  retryReason?: string;
  /**
   * The ack window (default 3000 ms, Slack's): a command or click without an ack in it
   * rejects; an event is delivered again on another connection.
   */
  timeoutMs?: number;
}

export interface FakeSocket {
  /**
   * Delivers an envelope on one open connection, the next in turn (Slack spreads an app's
   * envelopes over its connections); resolves with the ack. An event that gets no ack
   * within `timeoutMs`, or whose connection closes first, is delivered again on another
   * connection (`retry_attempt` one more, `retry_reason: 'timeout'`), up to three times.
   * Rejects at once without a connection; a command or a click without an ack, and an
   * event whose retries are spent, reject then.
   */
  send(type: EnvelopeType, payload: Record<string, unknown>, opts?: SocketSendOptions): Promise<SocketAck>;
  /** WebSocket connections open now (a connection stops counting once a close frame is exchanged). */
  connected(): number;
  /** Resolves with the number of open connections once there is at least one. */
  waitForConnection(timeoutMs?: number): Promise<number>;
  /** Sends `{type:'disconnect', reason}` to every connection; the client closes and reconnects. */
  disconnect(reason?: string): void;
  /** Every envelope sent, in order (a redelivery is a new envelope). */
  readonly envelopes: SocketEnvelope[];
  /** Which connection each envelope went out on: 1 for the first connection the fake accepted, and so on. */
  readonly deliveries: ReadonlyArray<{ envelope_id: string; connection: number }>;
  /** Every ack received (including late or duplicate ones), in order. */
  readonly acks: SocketAck[];
  /** Close frames seen from clients (`code` 1006 when the connection just dropped). */
  readonly closes: Array<{ code: number; reason: string }>;
  /** Ping frames received from clients (each answered with a pong by ws). */
  readonly pings: number;
}
