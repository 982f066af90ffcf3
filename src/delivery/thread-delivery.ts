import type { BotMetrics } from '../ops/metrics.js';
import type { Logger } from '../ops/logger.js';
import { bodyHash, type SlackBody } from '../render/slack-message.js';
import type { ViewBlock } from '../render/thread-view.js';
import type { ThreadRecord, ThreadRecords, ThreadRef } from '../store/thread-records.js';
import { adoptPosted } from './adopt-posted.js';
import { CoalescingLoop } from './coalescing-loop.js';
import { OpenStreams } from './open-streams.js';
import { isContentRefusal, writeFallback } from './refused-message.js';
import { SlackCallError, type SlackWriter } from './slack-writer.js';
import type { SlotSource } from './stream-slots.js';
import { type TextBlock, TextDelivery } from './text-delivery.js';
import type { TextLimits } from './text-plan.js';

export type ThreadView = {
  /** Where replies go (thread_ts). */
  threadTs: string;
  /** ts of the root card and the body it should show now. */
  root?: { ts: string; body: SlackBody };
  blocks: ViewBlock[];
  /** Nothing more will change until a human acts: status edits go out at once. */
  settled: boolean;
  /** Streams in channels need a recipient (the session owner). */
  recipient: { user: string; team: string };
};

export type DeliveryDeps = {
  writer: SlackWriter;
  records: ThreadRecords;
  log: Logger;
  streams: SlotSource;
  /** Least time between two status edits (root card, activity) of one thread while it runs. */
  statusIntervalMs?: number;
  retryDelayMs?: number;
  limits?: Partial<TextLimits>;
  onIdle?: () => void;
  /** The bot's own user id: its unrecorded messages in a thread are found by it. */
  botUserId?: string;
  metrics?: Pick<BotMetrics, 'deliveryLag'>;
};

/**
 * Makes the thread look like the view, sending only the difference, under the
 * process-wide write scheduler. Two loops per thread: content (new messages and the
 * agent's words, streamed or posted) and status (edits of the root card and the
 * activity surface, merged: each pass renders the latest state). What was delivered
 * is recorded after every write, so a restart repeats nothing that completed.
 */
export class ThreadDelivery {
  private readonly content: CoalescingLoop;
  private readonly status: CoalescingLoop;
  private lastStatusAt = 0;
  private closed = false;
  /** The stream slots this thread's open streams hold. */
  private readonly streams: OpenStreams;
  /** The agent's words, block by block (text-delivery.ts). */
  private readonly text: TextDelivery;

  constructor(
    private readonly ref: ThreadRef,
    private readonly view: () => ThreadView,
    private readonly deps: DeliveryDeps,
  ) {
    this.streams = new OpenStreams(deps.streams);
    const onIdle = () => {
      if (this.idle) deps.onIdle?.();
    };
    this.content = new CoalescingLoop(() => this.deliverContent(), deps.log, onIdle);
    this.status = new CoalescingLoop(() => this.deliverStatus(), deps.log, onIdle);
    const { writer, records, log, limits, retryDelayMs, botUserId, metrics } = deps;
    this.text = new TextDelivery(
      { ref, writer, records, log, streams: this.streams, limits, retryDelayMs, botUserId, metrics },
      {
        latest: (key) => this.view().blocks.find((b): b is TextBlock => b.kind === 'text' && b.key === key),
        closed: () => this.closed,
        wake: (ms) => this.content.wake(ms),
      },
    );
  }

  /** The root card was just posted: its first edit can wait a full status interval. */
  deferStatus(): void {
    this.lastStatusAt = Date.now();
  }

  /** Something changed: deliver soon. Calls coalesce into one pass per loop. */
  request(): void {
    if (this.closed) return;
    this.content.request();
    this.status.request();
  }

  get idle(): boolean {
    return this.content.idle && this.status.idle;
  }

  async settled(): Promise<void> {
    do {
      await this.content.settled();
      await this.status.settled();
    } while (this.content.running || this.status.running);
  }

  close(): void {
    this.closed = true;
    this.streams.close();
    this.content.close();
    this.status.close();
  }

  /** After a crash between a post and its record: see adopt-posted.ts. */
  async adoptPosted(): Promise<void> {
    const { writer, records, log } = this.deps;
    await adoptPosted({ ref: this.ref, threadTs: this.view().threadTs, writer, records, log });
  }

  // ---- content: new messages and the agent's words -------------------------------

  private async deliverContent(): Promise<void> {
    const view = this.view();
    let record = await this.deps.records.get(this.ref);
    if (!record) return;
    for (const block of view.blocks) {
      if (this.closed) return;
      if (block.kind === 'message') {
        if (record.posted[block.key]) continue;
        const ok = await this.postMessage(view, block.key, block.body, block.priority ?? 'content');
        if (!ok) return;
      } else {
        const done = await this.text.deliver(view.threadTs, view.recipient, block, record);
        if (!done) return;
      }
      record = (await this.deps.records.get(this.ref)) ?? record;
    }
  }

  private async postMessage(view: ThreadView, key: string, body: SlackBody, priority: 'content' | 'status'): Promise<boolean> {
    try {
      const ts = await this.deps.writer.postOnce(this.ref.channel, view.threadTs, key, body, priority);
      await this.deps.records.update(this.ref, (r) => {
        r.posted[key] = { ts, hash: bodyHash(body) };
      });
      await this.deps.records.indexMessage(this.ref, ts);
      // The message may have changed while its post waited for budget (a question closed,
      // a tool finished): the status pass edits it to what the view says now.
      this.status.request();
      return true;
    } catch (error) {
      if (!(error instanceof SlackCallError)) throw error;
      if (error.transient) {
        this.deps.log.warn({ key, slackError: error.slackError }, 'slack unavailable; will deliver later');
        this.content.wake(this.deps.retryDelayMs ?? 5000);
        return false;
      }
      // Refused for good (too long, invalid blocks): a plainer version with the same buttons
      // stands in; only when Slack takes none is it recorded as not shown, so the rest is not
      // held behind it.
      const fallback = isContentRefusal(error)
        ? await writeFallback(body, (b) => this.deps.writer.postOnce(this.ref.channel, view.threadTs, key, b, priority))
        : undefined;
      if (fallback?.kind === 'unavailable') {
        this.deps.log.warn({ key, slackError: fallback.error.slackError }, 'slack unavailable; will deliver later');
        this.content.wake(this.deps.retryDelayMs ?? 5000);
        return false;
      }
      const ts = fallback?.kind === 'shown' ? fallback.value : '';
      this.deps.log.error(
        { key, slackError: error.slackError, shown: fallback?.kind === 'shown' ? fallback.shown : 'nothing' },
        'slack refused a thread message',
      );
      await this.deps.records.update(this.ref, (r) => {
        r.posted[key] = { ts, hash: bodyHash(body) };
      });
      if (ts) await this.deps.records.indexMessage(this.ref, ts);
      return true;
    }
  }

  // ---- status: root card and activity edits, merged --------------------------------

  private async deliverStatus(): Promise<void> {
    const view = this.view();
    const record = await this.deps.records.get(this.ref);
    if (!record) return;
    const edits = this.statusEdits(view, record);
    if (edits.length === 0) return;
    const interval = this.deps.statusIntervalMs ?? 8000;
    const wait = this.lastStatusAt + interval - Date.now();
    if (!view.settled && wait > 0) {
      this.status.wake(wait);
      return;
    }
    this.lastStatusAt = Date.now();
    for (const { key } of edits) {
      if (this.closed) return;
      // Budget first, then the body: an edit that waited shows the state of now (merged).
      const lane = { method: 'chat.update', team: 'workspace', channel: this.ref.channel };
      await this.deps.writer.acquire({ ...lane, priority: 'status' });
      const edit = this.statusEdits(this.view(), (await this.deps.records.get(this.ref)) ?? record).find((e) => e.key === key);
      if (!edit) {
        this.deps.writer.scheduler.refund(lane);
        continue;
      }
      try {
        await this.deps.writer.call('chat.update', { channel: this.ref.channel, ts: edit.ts, ...replaceAll(edit.body) }, 'preacquired');
      } catch (error) {
        if (!(error instanceof SlackCallError)) throw error;
        // Refused content: the message shows a plainer version of the new state, buttons kept.
        const fallback = isContentRefusal(error)
          ? await writeFallback(edit.body, (b) =>
              this.deps.writer.call('chat.update', { channel: this.ref.channel, ts: edit.ts, ...replaceAll(b) }, 'status'),
            )
          : undefined;
        this.deps.log.error(
          { key: edit.key, slackError: error.slackError, shown: fallback?.kind === 'shown' ? fallback.shown : 'nothing' },
          'could not edit a status message',
        );
        if (fallback?.kind !== 'shown') {
          if (error.transient || fallback?.kind === 'unavailable') this.status.wake(this.deps.retryDelayMs ?? 5000);
          continue;
        }
      }
      await this.deps.records.update(this.ref, (r) => {
        r.posted[edit.key] = { ts: edit.ts, hash: bodyHash(edit.body) };
      });
    }
  }

  private statusEdits(view: ThreadView, record: ThreadRecord): Array<{ key: string; ts: string; body: SlackBody }> {
    const edits: Array<{ key: string; ts: string; body: SlackBody }> = [];
    for (const block of view.blocks) {
      if (block.kind !== 'message') continue;
      const done = record.posted[block.key];
      if (done?.ts && done.hash !== bodyHash(block.body)) edits.push({ key: block.key, ts: done.ts, body: block.body });
    }
    if (view.root && record.posted.root?.hash !== bodyHash(view.root.body)) edits.push({ key: 'root', ...view.root });
    return edits;
  }
}

/** chat.update keeps fields it is not given: switching body kinds must clear the other. */
function replaceAll(body: SlackBody): Record<string, unknown> {
  return 'markdown_text' in body ? body : { ...body, blocks: body.blocks ?? [] };
}
