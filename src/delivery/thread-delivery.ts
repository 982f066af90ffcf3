import type { Logger } from '../ops/logger.js';
import { bodyHash, type SlackBody, type WantedMessage } from '../render/slack-message.js';
import type { ThreadRecords, ThreadRef } from '../store/thread-records.js';
import { SlackCallError, type SlackWriter } from './slack-writer.js';

export type ThreadView = {
  /** ts of the root card and the body it should show now. */
  root?: { ts: string; body: SlackBody; settled: boolean };
  /** The thread replies, in order. */
  replies: WantedMessage[];
  /** Where replies go (thread_ts). */
  threadTs: string;
};

/**
 * Makes the thread look like the view: posts replies not yet posted (in order),
 * edits ones whose content changed, and edits the root card at most once per
 * `rootIntervalMs` unless the view is settled. What was posted is recorded in the
 * store after every write, so a crash repeats nothing that completed.
 */
export class ThreadDelivery {
  private dirty = false;
  private running: Promise<void> | undefined;
  private lastRootEdit = 0;
  private rootTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly ref: ThreadRef,
    private readonly view: () => ThreadView,
    private readonly deps: { writer: SlackWriter; records: ThreadRecords; log: Logger; rootIntervalMs?: number; retryDelayMs?: number; onIdle?: () => void },
  ) {}

  /** Something changed: deliver soon. Calls coalesce into one pass. */
  request(): void {
    if (this.closed) return;
    this.dirty = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
      if (this.dirty && !this.closed) this.request();
      else if (this.idle) this.deps.onIdle?.();
    });
  }

  /** Resolves when everything requested so far has been delivered (or failed and logged). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Nothing in flight and nothing scheduled. */
  get idle(): boolean {
    return !this.running && !this.dirty && this.rootTimer === undefined && this.retryTimer === undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.rootTimer);
    clearTimeout(this.retryTimer);
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await this.deliverOnce();
      } catch (error) {
        this.deps.log.error({ err: error }, 'thread delivery failed');
      }
    }
  }

  private async deliverOnce(): Promise<void> {
    const view = this.view();
    const record = await this.deps.records.get(this.ref);
    if (!record) return;
    const posted = { ...record.posted };

    for (const message of view.replies) {
      if (this.closed) return;
      const hash = bodyHash(message.body);
      const done = posted[message.key];
      if (done?.hash === hash) continue;
      try {
        if (!done) {
          const ts = await this.deps.writer.postOnce(this.ref.channel, view.threadTs, message.key, message.body);
          posted[message.key] = { ts, hash };
          await this.deps.records.indexMessage(this.ref, ts);
        } else if (done.ts) {
          await this.deps.writer.call('chat.update', { channel: this.ref.channel, ts: done.ts, ...emptyOther(message.body) });
          posted[message.key] = { ts: done.ts, hash };
        }
      } catch (error) {
        if (!(error instanceof SlackCallError)) throw error;
        if (error.transient) {
          // Slack is down or busy: keep it unposted, stop here (order matters), try again later.
          this.deps.log.warn({ key: message.key, slackError: error.slackError }, 'slack unavailable; will deliver later');
          this.retryLater();
          return;
        }
        // A message Slack refuses (too long, invalid blocks) would be refused forever:
        // record it as handled so the rest of the thread is not held behind it.
        this.deps.log.error({ key: message.key, slackError: error.slackError }, 'slack refused a thread message');
        posted[message.key] = { ts: done?.ts ?? '', hash };
      }
      await this.deps.records.update(this.ref, (r) => {
        r.posted[message.key] = posted[message.key]!;
      });
    }

    if (view.root) await this.deliverRoot(view.root, posted['root']?.hash);
  }

  /**
   * After a crash between a post and its record: find the bot's keyed posts in the
   * thread and record them, so they are edited rather than posted again.
   */
  async adoptPosted(): Promise<void> {
    const found = await this.deps.writer.postedKeys(this.ref.channel, this.view().threadTs);
    const record = await this.deps.records.get(this.ref);
    const missing = [...found].filter(([key]) => !record?.posted[key]);
    if (missing.length === 0) return;
    await this.deps.records.update(this.ref, (r) => {
      for (const [key, ts] of missing) r.posted[key] ??= { ts, hash: 'adopted' };
    });
    this.deps.log.warn({ keys: missing.map(([k]) => k) }, 'adopted posts that were made but not recorded');
  }

  private retryLater(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.request();
    }, this.deps.retryDelayMs ?? 5000);
  }

  private async deliverRoot(root: NonNullable<ThreadView['root']>, postedHash: string | undefined): Promise<void> {
    const hash = bodyHash(root.body);
    if (hash === postedHash) return;
    const interval = this.deps.rootIntervalMs ?? 1500;
    const wait = this.lastRootEdit + interval - Date.now();
    if (!root.settled && wait > 0) {
      clearTimeout(this.rootTimer);
      this.rootTimer = setTimeout(() => {
        this.rootTimer = undefined;
        this.request();
      }, wait);
      return;
    }
    this.lastRootEdit = Date.now();
    try {
      await this.deps.writer.call('chat.update', { channel: this.ref.channel, ts: root.ts, ...emptyOther(root.body) });
    } catch (error) {
      if (!(error instanceof SlackCallError)) throw error;
      this.deps.log.error({ slackError: error.slackError }, 'could not update the root card');
      if (error.transient) this.retryLater();
      return;
    }
    await this.deps.records.update(this.ref, (r) => {
      r.posted['root'] = { ts: root.ts, hash };
    });
  }
}

/** chat.update keeps fields it is not given: switching body kinds must clear the other. */
function emptyOther(body: SlackBody): Record<string, unknown> {
  return 'markdown_text' in body ? body : { ...body, blocks: body.blocks ?? [] };
}
