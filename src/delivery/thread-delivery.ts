import type { Logger } from '../ops/logger.js';
import { bodyHash, type SlackBody } from '../render/slack-message.js';
import type { ViewBlock } from '../render/thread-view.js';
import type { ThreadRecord, ThreadRecords, ThreadRef, Writing } from '../store/thread-records.js';
import { adoptPosted } from './adopt-posted.js';
import { CoalescingLoop } from './coalescing-loop.js';
import { OpenStreams } from './open-streams.js';
import { isContentRefusal, writeFallback } from './refused-message.js';
import { settleWriting } from './settle-writing.js';
import { SlackCallError, type SlackWriter } from './slack-writer.js';
import type { StreamSlots } from './stream-slots.js';
import { appendToStream } from './text-steps/append.js';
import { attachAnswer } from './text-steps/attach.js';
import { postText } from './text-steps/post.js';
import { rewriteText } from './text-steps/rewrite.js';
import { startStream } from './text-steps/start-stream.js';
import type { StepOutcome, TextStepContext } from './text-steps/step.js';
import { stopStream } from './text-steps/stop.js';
import { planText, type Segment, type TextAction, type TextLimits } from './text-plan.js';
import { newestTs } from './thread-ts.js';

type TextBlock = Extract<ViewBlock, { kind: 'text' }>;

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
  streams: StreamSlots;
  /** Least time between two status edits (root card, activity) of one thread while it runs. */
  statusIntervalMs?: number;
  retryDelayMs?: number;
  limits?: Partial<TextLimits>;
  onIdle?: () => void;
  /** The bot's own user id: its unrecorded messages in a thread are found by it. */
  botUserId?: string;
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
  private readonly pendingSince = new Map<string, number>();
  private streamingBroken = false;
  private closed = false;
  /** The stream slots this thread's open streams hold. */
  private readonly streams: OpenStreams;

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

  /** Written before a text write Slack gives no key for (see settle-writing.ts). */
  private async intend(writing: Writing): Promise<void> {
    await this.deps.records.update(this.ref, (r) => {
      r.writing = writing;
    });
  }

  private settle(writing: Writing, segments: Segment[]): Promise<Segment[]> {
    const { writer, records, log, botUserId } = this.deps;
    return settleWriting({ ref: this.ref, writer, records, log, botUserId }, writing, segments);
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
        record = (await this.deps.records.get(this.ref)) ?? record;
        continue;
      }
      const done = await this.deliverText(view, block, record);
      if (!done) return;
      record = (await this.deps.records.get(this.ref)) ?? record;
    }
  }

  /**
   * One text block to Slack, step by step: plan on the latest words, wait for the
   * step's budget, plan again, dispatch to the step (text-steps/), record what it wrote.
   * Returns false when later blocks must wait (this block is still being written, or
   * Slack is down).
   */
  private async deliverText(view: ThreadView, first: TextBlock, record: ThreadRecord): Promise<boolean> {
    let segments = [...(record.segments[first.key] ?? [])];
    // A write of this block left with an unknown outcome (by a crash or an outage): settled first.
    const left = record.writing?.key === first.key ? record.writing : undefined;
    if (left && left.kind !== 'attach') {
      segments = await this.settle(left, segments);
      this.streams.reconcile(first.key, segments);
    }
    // A long answer's file reserved before it was shared: the attach step looks for it first.
    let attachIntent = left?.kind === 'attach' ? left : undefined;
    let block = first;
    for (let step = 0; step < 50 && !this.closed; step++) {
      // The view moves on while writes wait for their budget: always plan on the latest words.
      block = this.latest(first.key) ?? block;
      const now = Date.now();
      const delivered = segments.reduce((n, s) => n + s.length, 0);
      if (block.text.length > delivered) {
        if (!this.pendingSince.has(block.key)) this.pendingSince.set(block.key, now);
      } else this.pendingSince.delete(block.key);
      const plan = () =>
        planText({
          text: block.text,
          committed: block.committed,
          open: block.open,
          segments,
          now: Date.now(),
          pendingSince: this.pendingSince.get(block.key),
          canStream:
            !this.streamingBroken &&
            this.streams.free > 0 &&
            this.deps.writer.scheduler.available({ method: 'chat.startStream', team: 'workspace' }) >= 1,
          ...(this.deps.limits ? { limits: this.deps.limits } : {}),
        });
      let action = plan();
      if (action.kind === 'none') return !block.open || segments.every((s) => s.closed);
      if (action.kind === 'wait') {
        this.content.wake(action.until - now);
        return false;
      }
      // Wait for the budget first, then decide what to send: a write that waited carries
      // everything that arrived meanwhile, not what was pending when it started waiting.
      const method = METHOD_OF[action.kind];
      const lane = method ? { method, team: 'workspace', channel: this.ref.channel } : undefined;
      if (lane) {
        await this.deps.writer.scheduler.acquire({ ...lane, priority: 'content' });
        block = this.latest(first.key) ?? block;
        action = plan();
        if (METHOD_OF[action.kind] !== lane.method) {
          this.deps.writer.scheduler.refund(lane);
          continue;
        }
      }
      // Narrows for the compiler: a re-plan that changed the step went round again above.
      if (action.kind === 'none' || action.kind === 'wait') continue;
      let outcome: StepOutcome;
      try {
        outcome = await this.dispatch(view, block.key, action, segments, now, attachIntent);
      } catch (error) {
        if (!(error instanceof SlackCallError)) throw error;
        this.deps.log.warn({ key: block.key, slackError: error.slackError, transient: error.transient }, 'could not deliver agent text; will retry');
        this.content.wake(this.deps.retryDelayMs ?? 5000);
        return false;
      }
      switch (outcome.kind) {
        case 'replan':
          if (lane) this.deps.writer.scheduler.refund(lane);
          continue;
        case 'cannot_stream':
          this.streamingBroken = true;
          this.deps.log.warn({ slackError: outcome.slackError }, 'cannot stream in this thread; posting instead');
          continue;
        case 'unknown_outcome':
          segments = await this.settle(outcome.intent, segments);
          this.streams.reconcile(block.key, segments);
          if (outcome.next === 'replan') continue;
          this.content.wake(this.deps.retryDelayMs ?? 5000);
          return false;
        case 'written': {
          segments = outcome.segments;
          this.streams.reconcile(block.key, segments);
          if (action.kind === 'attach') attachIntent = undefined;
          const written = segments;
          const keepAttach = attachIntent !== undefined;
          await this.deps.records.update(this.ref, (r) => {
            r.segments[block.key] = written;
            if (r.writing?.key === block.key && (r.writing.kind !== 'attach' || !keepAttach)) delete r.writing;
          });
        }
      }
    }
    return false;
  }

  /** Runs one text step with what it needs (text-steps/): 'none' and 'wait' never come here. */
  private async dispatch(
    view: ThreadView,
    key: string,
    action: Exclude<TextAction, { kind: 'none' } | { kind: 'wait' }>,
    segments: Segment[],
    now: number,
    attachIntent: Writing | undefined,
  ): Promise<StepOutcome> {
    const { writer, records, log } = this.deps;
    const ctx: TextStepContext = {
      channel: this.ref.channel,
      threadTs: view.threadTs,
      key,
      segments,
      now,
      intend: (writing) => this.intend(writing),
      indexMessage: (ts) => records.indexMessage(this.ref, ts),
      log,
    };
    switch (action.kind) {
      case 'start_stream': {
        const afterTs = newestTs(await records.get(this.ref));
        return startStream({ ...ctx, recipient: view.recipient, afterTs }, action, writer, this.streams);
      }
      case 'append':
        return appendToStream(ctx, action, writer);
      case 'stop':
        return stopStream(ctx, action, writer);
      case 'post':
        return postText(ctx, action, writer);
      case 'attach': {
        const forgetIntent = () =>
          records
            .update(this.ref, (r) => {
              if (r.writing?.key === key) delete r.writing;
            })
            .then(() => undefined);
        return attachAnswer({ ...ctx, reserved: attachIntent?.fileId, forgetIntent }, action, writer);
      }
      case 'rewrite':
        return rewriteText(ctx, action, writer);
    }
  }

  private latest(key: string): TextBlock | undefined {
    return this.view().blocks.find((b): b is TextBlock => b.kind === 'text' && b.key === key);
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
      await this.deps.writer.scheduler.acquire({ ...lane, priority: 'status' });
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
    if (view.root && record.posted['root']?.hash !== bodyHash(view.root.body)) edits.push({ key: 'root', ...view.root });
    return edits;
  }
}

/** The Slack method a text step spends its budget on (steps without one pass straight through). */
const METHOD_OF: Partial<Record<TextAction['kind'], string>> = {
  start_stream: 'chat.startStream',
  append: 'chat.appendStream',
  stop: 'chat.stopStream',
  post: 'chat.postMessage',
};

/** chat.update keeps fields it is not given: switching body kinds must clear the other. */
function replaceAll(body: SlackBody): Record<string, unknown> {
  return 'markdown_text' in body ? body : { ...body, blocks: body.blocks ?? [] };
}
