export type Args = Record<string, unknown>;

export interface ApiCall {
  method: string;
  /** Arguments as the fake parsed them: JSON fields decoded, `token` removed. */
  args: Args;
  /** Arrival time (ms since epoch). `calls` is in completion order. */
  at: number;
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

export interface Failure {
  /** Answer HTTP 200 `{ok:false, error}`. */
  error?: string;
  /** Answer this HTTP status (e.g. 500) with a JSON error body. */
  status?: number;
  /** Answer 429 with this `Retry-After` (integer seconds). */
  retryAfter?: number;
  /** How many consecutive calls this applies to (default 1). */
  times?: number;
  /** With `status`: apply the call first, then answer the error ("landed but failed"). */
  afterApply?: boolean;
  /** Hold the call until this settles, then answer as the other fields say (normally if none). */
  hold?: Promise<unknown>;
}

/** Token bucket per workspace × method (× channel when `perChannel`). */
export interface RateLimit {
  perMinute: number;
  burst: number;
  perChannel?: boolean;
}

export interface FakeSlackOptions {
  botToken?: string;
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
  failNext(method: string, failure: Failure): void;
  setMember(channel: string, isMember: boolean): void;
  isMember(channel: string): boolean;
  responseUrlPosts: Array<{ url: string; body: any }>;
  responseUrl(): string;
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  users: Map<string, FakeUser>;
  uploads: Map<string, FakeUpload>;
  /** Current assistant.threads.setStatus text; cleared by a bot reply in the thread, as in Slack. */
  statusOf(channel: string, threadTs: string): string | undefined;
  /** Mints a ts from the same clock the fake uses. */
  nextTs(): string;
  readonly team: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
}
