import { setMaxListeners } from 'node:events';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, type WebClient } from '@slack/web-api';
import type { Logger } from '../ops/logger.js';
import { delay } from '../ops/delay.js';
import type { SlackBody } from '../render/slack-message.js';
import type { BotMetrics, SlackCallOutcome } from '../ops/metrics.js';
import { WriteScheduler, type Priority, type WriteRequest } from './write-scheduler.js';

export const METADATA_EVENT_TYPE = 'agent_bridge_message';
/** The calls that put a reply of the bot into a thread. */
const REPLY_METHODS = new Set(['chat.postMessage', 'chat.startStream', 'files.completeUploadExternal']);

export class SlackCallError extends Error {
  constructor(
    readonly method: string,
    readonly slackError: string,
    options?: ErrorOptions & { transient?: boolean; unknownOutcome?: boolean; fenced?: boolean },
  ) {
    super(`${method} failed: ${slackError}`, options);
    this.transient = options?.transient ?? false;
    this.unknownOutcome = options?.unknownOutcome ?? false;
    this.fenced = options?.fenced ?? false;
  }

  /** Slack was unreachable or busy (retries ran out); the same call may work later. */
  readonly transient: boolean;
  /**
   * The call may have landed (5xx, dropped connection): only from `callOnce`, whose caller
   * looks in Slack before it writes again.
   */
  readonly unknownOutcome: boolean;
  /**
   * Never sent: the writer's guard closed (the replica lost the thread's lease). Also
   * `transient`, so callers take their "later" path; later is the next holder's.
   */
  readonly fenced: boolean;
}

/**
 * What may stop a writer's calls before they leave the process (a runner's lease, in
 * replicas/fence.ts). Checked right before every attempt is sent, so a call that waited
 * for budget or for a 429 to pass is checked again at the moment it would go out.
 */
export type WriteGuard = {
  /** Aborted when the writes must stop: a call waiting for budget or a backoff gives up at once. */
  readonly signal: AbortSignal;
  /** Whether a call may go out now. */
  allows(): boolean;
};

type Args = Record<string, unknown>;

/** The fields of a conversations.replies message this writer reads. */
export type ThreadReply = {
  ts?: string;
  user?: string;
  files?: Array<{ id?: string }>;
  metadata?: { event_type?: string; event_payload?: { key?: unknown } };
};

/**
 * Every Slack call of the process goes through here, and through the one write
 * scheduler (rate budgets per method). The WebClient is built with
 * `rejectRateLimitedCalls` and no retries, so this class decides: a 429 pauses only
 * its own method for Retry-After, and a post that may have landed (5xx, dropped
 * connection) is looked up by its metadata key before it is sent again.
 */
export class SlackWriter {
  private readonly abort = new AbortController();
  /** Keys of keyed writes whose last attempt ended with an unknown outcome: the next one looks first. */
  private readonly uncertainKeys = new Set<string>();
  /** Set only on a view made by `guarded`. */
  private readonly guard: WriteGuard | undefined;

  readonly scheduler: WriteScheduler;
  /**
   * Told after each reply the bot made in a thread: Slack clears a thread's loading
   * messages then, and whoever set them sets them again (NativeStatus). Must not throw.
   */
  onThreadReply: ((channel: string, threadTs: string) => void) | undefined;

  constructor(
    private readonly client: WebClient,
    private readonly log: Logger,
    private readonly opts: {
      maxAttempts?: number;
      backoffMs?: number;
      scheduler?: WriteScheduler;
      team?: string;
      /** Counts every call by method and outcome, and every 429. */
      metrics?: Pick<BotMetrics, 'slackCalls' | 'rateLimited'>;
    } = {},
  ) {
    this.scheduler = opts.scheduler ?? new WriteScheduler();
    // Every write waiting for its budget listens for shutdown on this one signal.
    setMaxListeners(0, this.abort.signal);
  }

  close(): void {
    this.abort.abort(new Error('slack writer closed'));
    this.scheduler.close();
  }

  /**
   * This writer, with every call checked against `guard` right before each attempt is
   * sent: a refused call throws a `fenced` SlackCallError and never reaches Slack. The view
   * shares everything else (client, scheduler, keys of uncertain posts, onThreadReply).
   */
  guarded(guard: WriteGuard): SlackWriter {
    const view = Object.create(this) as SlackWriter;
    Object.defineProperty(view, 'guard', { value: guard });
    return view;
  }

  /**
   * Waits for the budget of one call that the caller then makes with `preacquired` (it
   * decides what to send once the budget is there). On a guarded view the wait ends as a
   * `fenced` SlackCallError the moment the guard shuts.
   */
  async acquire(req: WriteRequest): Promise<void> {
    await this.unlessFenced(req.method, this.scheduler.acquire(req, this.stopSignal()));
  }

  /** Any idempotent call (update, reactions, reads): retried on 429/5xx/network. */
  async call<T = Args>(method: string, args: Args, priority: Priority | 'preacquired' = 'content'): Promise<T> {
    return this.withRetries<T>(method, args, async () => undefined, priority);
  }

  /**
   * A write that must not be repeated blindly and carries no key Slack could find it by
   * (a stream's start or append). A 429 is waited out (Slack did not apply it); a 5xx or a
   * dropped connection throws at once with `unknownOutcome`, and the caller looks in the
   * thread before it writes again.
   */
  async callOnce<T = Args>(method: string, args: Args, priority: Priority | 'preacquired' = 'content'): Promise<T> {
    return this.withRetries<T>(method, args, async () => undefined, priority, true);
  }

  /**
   * Post into a thread exactly once per key. When the outcome of an attempt is
   * unknown, the thread is searched for the key before the next attempt.
   */
  async postOnce(channel: string, threadTs: string, key: string, body: SlackBody, priority: Priority | 'preacquired' = 'content'): Promise<string> {
    const args = {
      channel,
      thread_ts: threadTs,
      ...body,
      unfurl_links: false,
      unfurl_media: false,
      metadata: { event_type: METADATA_EVENT_TYPE, event_payload: { key } },
    };
    const result = await this.withRetries<{ ts?: string }>(
      'chat.postMessage',
      args,
      async () => {
        const found = await this.findPosted(channel, threadTs, key);
        return found ? { ts: found } : undefined;
      },
      priority,
      false,
      `${channel}:${threadTs}:${key}`,
    );
    if (!result.ts) throw new SlackCallError('chat.postMessage', 'no_ts_in_response');
    return result.ts;
  }

  /**
   * Step 1 and 2 of files.uploadV2 for one file: a Slack file id and the bytes behind it.
   * Nothing is shared yet, so the caller can record the id before the file appears anywhere.
   */
  async reserveUpload(file: { filename: string; bytes: Buffer }): Promise<string> {
    const got = await this.call<{ upload_url?: string; file_id?: string }>('files.getUploadURLExternal', {
      filename: file.filename,
      length: file.bytes.length,
    });
    if (!got.upload_url || !got.file_id) throw new SlackCallError('files.getUploadURLExternal', 'no_upload_url');
    // Not a Web API method: no rate tier, just the upload host. As web-api does, a multipart `body` field.
    const form = new FormData();
    // A copy as Uint8Array: Blob takes only ArrayBuffer-backed views, and a Buffer's type allows a SharedArrayBuffer.
    form.append('body', new Blob([new Uint8Array(file.bytes)]), file.filename);
    let status: number;
    this.mustBeAllowed('files.upload');
    try {
      const res = await fetch(got.upload_url, { method: 'POST', body: form, signal: this.stopSignal() });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
    } catch (error) {
      throw new SlackCallError('files.upload', describeTransport(error), { cause: error, transient: true });
    }
    if (status !== 200) throw new SlackCallError('files.upload', `http_${status}`, { transient: status >= 500 });
    return got.file_id;
  }

  /**
   * Step 3: shares reserved files in a thread, in one message with `comment`. Like
   * postOnce, an attempt with an unknown outcome is followed by a look in the thread for
   * the files before anything is sent again.
   */
  async completeUploadsOnce(channel: string, threadTs: string, files: Array<{ id: string; title: string }>, comment: string): Promise<void> {
    const args = { channel_id: channel, thread_ts: threadTs, files, initial_comment: comment };
    await this.withRetries<unknown>(
      'files.completeUploadExternal',
      args,
      async () => {
        const shared = await this.filesInThread(channel, threadTs);
        return files.every((f) => shared.has(f.id)) ? {} : undefined;
      },
      'content',
      false,
      `${channel}:${threadTs}:${files.map((f) => f.id).join(',')}`,
    );
  }

  /** Ids of every file shared in a thread (by anyone). */
  async filesInThread(channel: string, threadTs: string): Promise<Set<string>> {
    const found = new Set<string>();
    for await (const m of this.replies(channel, threadTs, {})) for (const f of m.files ?? []) if (f.id) found.add(f.id);
    return found;
  }

  /**
   * A top-level post (the root card) exactly once per key: the key rides in the message's
   * metadata, and after an attempt with an unknown outcome the channel's history since
   * `sinceMs` is searched for it before the next attempt.
   */
  async postTopLevelOnce(channel: string, key: string, body: SlackBody, sinceMs: number): Promise<string> {
    const args = { channel, ...body, metadata: { event_type: METADATA_EVENT_TYPE, event_payload: { key } } };
    const result = await this.withRetries<{ ts?: string }>(
      'chat.postMessage',
      args,
      async () => {
        const found = await this.findTopLevel(channel, key, sinceMs);
        return found ? { ts: found } : undefined;
      },
      'content',
      false,
      `${channel}:${key}`,
    );
    if (!result.ts) throw new SlackCallError('chat.postMessage', 'no_ts_in_response');
    return result.ts;
  }

  /** The ts of this bot's top-level post with `key`, posted after `sinceMs` (a minute of clock skew allowed). */
  async findTopLevel(channel: string, key: string, sinceMs: number): Promise<string | undefined> {
    const oldest = String(Math.floor(sinceMs / 1000) - 60);
    let cursor: string | undefined;
    do {
      const page = await this.call<{ messages?: ThreadReply[]; response_metadata?: { next_cursor?: string } }>('conversations.history', {
        channel,
        oldest,
        include_all_metadata: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const m of page.messages ?? []) {
        if (m.ts && m.metadata?.event_type === METADATA_EVENT_TYPE && m.metadata.event_payload?.key === key) return m.ts;
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  }

  /** Every message of a thread with its metadata (for finding this bot's unrecorded writes). */
  async threadMessages(channel: string, threadTs: string): Promise<ThreadReply[]> {
    const all: ThreadReply[] = [];
    for await (const m of this.replies(channel, threadTs, { include_all_metadata: true })) all.push(m);
    return all;
  }

  private async findPosted(channel: string, threadTs: string, key: string): Promise<string | undefined> {
    return (await this.postedKeys(channel, threadTs)).get(key);
  }

  /** Every message this bot posted in a thread, by the key in its metadata. */
  async postedKeys(channel: string, threadTs: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const m of this.replies(channel, threadTs, { include_all_metadata: true })) {
      const key = m.metadata?.event_payload?.key;
      if (m.ts && m.metadata?.event_type === METADATA_EVENT_TYPE && typeof key === 'string') found.set(key, m.ts);
    }
    return found;
  }

  /** Every message of a thread, page by page (conversations.replies with its cursor). */
  private async *replies(channel: string, threadTs: string, extra: Args): AsyncGenerator<ThreadReply> {
    let cursor: string | undefined;
    do {
      const page = await this.call<{ messages?: ThreadReply[]; response_metadata?: { next_cursor?: string } }>('conversations.replies', {
        channel,
        ts: threadTs,
        ...extra,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      yield* page.messages ?? [];
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
  }

  /**
   * `preacquired`: the caller already holds this method's token (it waited for the
   * budget first, then decided what to send, so the write carries the freshest content).
   */
  private async withRetries<T>(
    method: string,
    args: Args,
    beforeRetry: () => Promise<T | undefined>,
    priority: Priority | 'preacquired',
    once = false,
    /** A key whose earlier call ended with an unknown outcome is looked for before its first attempt too. */
    key?: string,
  ): Promise<T> {
    const maxAttempts = this.opts.maxAttempts ?? 5;
    const backoffMs = this.opts.backoffMs ?? 500;
    // The agent surfaces (assistant.threads.*, agents.sessions.*) name their channel `channel_id`.
    const channel = typeof args.channel === 'string' ? args.channel : typeof args.channel_id === 'string' ? args.channel_id : undefined;
    const lane = { method, team: this.opts.team ?? 'workspace', ...(channel !== undefined ? { channel } : {}) };
    let uncertain = key !== undefined && this.uncertainKeys.has(key);
    try {
      const result = await this.attempts<T>(
        method,
        args,
        beforeRetry,
        priority,
        once,
        lane,
        maxAttempts,
        backoffMs,
        () => uncertain,
        () => (uncertain = true),
      );
      if (key !== undefined) this.uncertainKeys.delete(key);
      if (channel !== undefined && typeof args.thread_ts === 'string' && REPLY_METHODS.has(method)) this.onThreadReply?.(channel, args.thread_ts);
      return result;
    } catch (error) {
      if (key !== undefined && uncertain) this.uncertainKeys.add(key);
      throw error;
    }
  }

  private counted(method: string, outcome: SlackCallOutcome): void {
    this.opts.metrics?.slackCalls.inc({ method, outcome });
  }

  private async attempts<T>(
    method: string,
    args: Args,
    beforeRetry: () => Promise<T | undefined>,
    priority: Priority | 'preacquired',
    once: boolean,
    lane: { method: string; team: string; channel?: string },
    maxAttempts: number,
    backoffMs: number,
    isUncertain: () => boolean,
    markUncertain: () => void,
  ): Promise<T> {
    const stop = this.stopSignal();
    for (let attempt = 1; ; attempt++) {
      if (priority !== 'preacquired' || attempt > 1) {
        await this.unlessFenced(method, this.scheduler.acquire({ ...lane, priority: priority === 'preacquired' ? 'content' : priority }, stop));
      }
      if (isUncertain()) {
        const settled = await beforeRetry();
        if (settled !== undefined) return settled;
      }
      // The last moment before the call leaves: whatever it waited for, the guard decides now.
      if (this.guard && !this.guard.allows()) {
        // A token the caller took for this call goes back unused.
        if (priority === 'preacquired' && attempt === 1) this.scheduler.refund(lane);
        throw fencedError(method, this.guard.signal.reason);
      }
      try {
        const result = (await this.client.apiCall(method, args)) as T;
        this.counted(method, 'ok');
        return result;
      } catch (error) {
        this.counted(method, outcomeOf(error));
        if (error instanceof WebAPIRateLimitedError) {
          this.opts.metrics?.rateLimited.inc({ method });
          const seconds = Math.max(1, error.retryAfter);
          this.scheduler.rateLimited(lane, seconds * 1000);
          this.log.warn({ method, retryAfter: seconds, attempt }, 'slack rate limited this method; pausing it');
          if (attempt >= maxAttempts + 5) throw new SlackCallError(method, 'ratelimited', { cause: error, transient: true });
          continue;
        }
        if (error instanceof WebAPIPlatformError) {
          throw new SlackCallError(method, error.data.error, { cause: error });
        }
        const transient = error instanceof WebAPIHTTPError || error instanceof WebAPIRequestError;
        if (transient && once) throw new SlackCallError(method, describeTransport(error), { cause: error, transient, unknownOutcome: true });
        if (transient) markUncertain();
        if (!transient || attempt >= maxAttempts) {
          throw new SlackCallError(method, describeTransport(error), { cause: error, transient });
        }
        this.log.warn({ method, attempt, err: describeTransport(error) }, 'slack call failed; will retry');
        await this.unlessFenced(method, delay(backoffMs * 2 ** (attempt - 1), stop));
      }
    }
  }

  /** Aborted when the writer closes, or (on a guarded view) when its guard does. */
  private stopSignal(): AbortSignal {
    return this.guard ? AbortSignal.any([this.abort.signal, this.guard.signal]) : this.abort.signal;
  }

  private mustBeAllowed(method: string): void {
    if (this.guard && !this.guard.allows()) throw fencedError(method, this.guard.signal.reason);
  }

  /** A wait the guard cut short ends as a fenced call, not as the abort's reason. */
  private async unlessFenced(method: string, wait: Promise<void>): Promise<void> {
    try {
      await wait;
    } catch (error) {
      if (this.guard?.signal.aborted && !this.abort.signal.aborted) throw fencedError(method, error);
      throw error;
    }
  }
}

function fencedError(method: string, cause: unknown): SlackCallError {
  return new SlackCallError(method, 'lease_lost', { cause, transient: true, fenced: true });
}

function outcomeOf(error: unknown): SlackCallOutcome {
  if (error instanceof WebAPIRateLimitedError) return 'ratelimited';
  if (error instanceof WebAPIPlatformError) return 'slack_error';
  return 'transport_error';
}

function describeTransport(error: unknown): string {
  if (error instanceof WebAPIHTTPError) return `http_${error.statusCode}`;
  if (error instanceof WebAPIRequestError) return `request_error: ${error.original.message}`;
  return error instanceof Error ? error.message : String(error);
}
