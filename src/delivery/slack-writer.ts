import { setMaxListeners } from 'node:events';
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  type WebClient,
} from '@slack/web-api';
import type { Logger } from '../ops/logger.js';
import { delay } from '../ops/delay.js';
import type { SlackBody } from '../render/slack-message.js';
import { WriteScheduler, type Priority } from './write-scheduler.js';

export const METADATA_EVENT_TYPE = 'agent_bridge_message';

export class SlackCallError extends Error {
  constructor(
    readonly method: string,
    readonly slackError: string,
    options?: ErrorOptions & { transient?: boolean },
  ) {
    super(`${method} failed: ${slackError}`, options);
    this.transient = options?.transient ?? false;
  }

  /** Slack was unreachable or busy (retries ran out); the same call may work later. */
  readonly transient: boolean;
}

type Args = Record<string, unknown>;

/** The fields of a conversations.replies message this writer reads. */
type ThreadReply = {
  ts?: string;
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

  readonly scheduler: WriteScheduler;

  constructor(
    private readonly client: WebClient,
    private readonly log: Logger,
    private readonly opts: { maxAttempts?: number; backoffMs?: number; scheduler?: WriteScheduler; team?: string } = {},
  ) {
    this.scheduler = opts.scheduler ?? new WriteScheduler();
    // Every write waiting for its budget listens for shutdown on this one signal.
    setMaxListeners(0, this.abort.signal);
  }

  close(): void {
    this.abort.abort(new Error('slack writer closed'));
    this.scheduler.close();
  }

  /** Any idempotent call (update, reactions, reads): retried on 429/5xx/network. */
  async call<T = Args>(method: string, args: Args, priority: Priority | 'preacquired' = 'content'): Promise<T> {
    return this.withRetries<T>(method, args, async () => undefined, priority);
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
    const result = await this.withRetries<{ ts?: string }>('chat.postMessage', args, async () => {
      const found = await this.findPosted(channel, threadTs, key);
      return found ? { ts: found } : undefined;
    }, priority);
    if (!result.ts) throw new SlackCallError('chat.postMessage', 'no_ts_in_response');
    return result.ts;
  }

  /** A text file into a thread (files.uploadV2: three calls, each under its method's budget). */
  async uploadText(channel: string, threadTs: string, file: { filename: string; title: string; content: string; comment: string }): Promise<string> {
    const lane = { team: this.opts.team ?? 'workspace', channel };
    await this.scheduler.acquire({ ...lane, method: 'files.getUploadURLExternal', priority: 'content' }, this.abort.signal);
    await this.scheduler.acquire({ ...lane, method: 'files.completeUploadExternal', priority: 'content' }, this.abort.signal);
    try {
      const result = (await this.client.files.uploadV2({
        channel_id: channel,
        thread_ts: threadTs,
        filename: file.filename,
        title: file.title,
        content: file.content,
        initial_comment: file.comment,
      })) as { files?: Array<{ files?: Array<{ id?: string }> }> };
      return result.files?.[0]?.files?.[0]?.id ?? 'uploaded';
    } catch (error) {
      if (error instanceof WebAPIPlatformError) throw new SlackCallError('files.uploadV2', error.data.error, { cause: error });
      throw new SlackCallError('files.uploadV2', describeTransport(error), { cause: error, transient: true });
    }
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
    try {
      const res = await fetch(got.upload_url, { method: 'POST', body: form, signal: this.abort.signal });
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
    await this.withRetries<unknown>('files.completeUploadExternal', args, async () => {
      const shared = await this.filesInThread(channel, threadTs);
      return files.every((f) => shared.has(f.id)) ? {} : undefined;
    }, 'content');
  }

  /** Ids of every file shared in a thread (by anyone). */
  async filesInThread(channel: string, threadTs: string): Promise<Set<string>> {
    const found = new Set<string>();
    for await (const m of this.replies(channel, threadTs, {})) for (const f of m.files ?? []) if (f.id) found.add(f.id);
    return found;
  }

  /** A top-level post (the root card): not retried on an unknown outcome, the caller tells the user. */
  async postTopLevel(channel: string, body: SlackBody): Promise<string> {
    const result = await this.withRetries<{ ts?: string }>('chat.postMessage', { channel, ...body }, async () => {
      throw new SlackCallError('chat.postMessage', 'outcome_unknown');
    }, 'content');
    if (!result.ts) throw new SlackCallError('chat.postMessage', 'no_ts_in_response');
    return result.ts;
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
  private async withRetries<T>(method: string, args: Args, beforeRetry: () => Promise<T | undefined>, priority: Priority | 'preacquired'): Promise<T> {
    const maxAttempts = this.opts.maxAttempts ?? 5;
    const backoffMs = this.opts.backoffMs ?? 500;
    const lane = { method, team: this.opts.team ?? 'workspace', ...(typeof args.channel === 'string' ? { channel: args.channel } : {}) };
    let uncertain = false;
    for (let attempt = 1; ; attempt++) {
      if (priority !== 'preacquired' || attempt > 1) {
        await this.scheduler.acquire({ ...lane, priority: priority === 'preacquired' ? 'content' : priority }, this.abort.signal);
      }
      if (uncertain) {
        const settled = await beforeRetry();
        if (settled !== undefined) return settled;
      }
      try {
        return (await this.client.apiCall(method, args)) as T;
      } catch (error) {
        if (error instanceof WebAPIRateLimitedError) {
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
        if (!transient || attempt >= maxAttempts) {
          throw new SlackCallError(method, describeTransport(error), { cause: error, transient });
        }
        uncertain = true;
        this.log.warn({ method, attempt, err: describeTransport(error) }, 'slack call failed; will retry');
        await delay(backoffMs * 2 ** (attempt - 1), this.abort.signal);
      }
    }
  }

}

function describeTransport(error: unknown): string {
  if (error instanceof WebAPIHTTPError) return `http_${error.statusCode}`;
  if (error instanceof WebAPIRequestError) return `request_error: ${error.original.message}`;
  return error instanceof Error ? error.message : String(error);
}
