import type { Logger } from '../ops/logger.js';
import { bodyHash, type SlackBody } from '../render/slack-message.js';
import type { ViewBlock } from '../render/thread-view.js';
import type { ThreadRecord, ThreadRecords, ThreadRef, Writing } from '../store/thread-records.js';
import { isContentRefusal, writeFallback } from './refused-message.js';
import { METADATA_EVENT_TYPE, SlackCallError, type SlackWriter } from './slack-writer.js';
import type { StreamSlots } from './stream-slots.js';
import { carrying, planText, type Segment, type TextAction, type TextLimits } from './text-plan.js';

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

  constructor(
    private readonly ref: ThreadRef,
    private readonly view: () => ThreadView,
    private readonly deps: DeliveryDeps,
  ) {
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
    this.content.close();
    this.status.close();
  }

  /**
   * After a crash between a post and its record: find the bot's keyed posts in the
   * thread and record them, so they are edited rather than posted again. Streams left
   * open are stopped; their recorded words are exact unless a write to them was in
   * flight (`record.writing`), which the next delivery pass settles from the thread.
   */
  async adoptPosted(): Promise<void> {
    const found = await this.deps.writer.postedKeys(this.ref.channel, this.view().threadTs);
    const record = await this.deps.records.get(this.ref);
    if (!record) return;
    const missing = [...found].filter(([key]) => !record.posted[key] && !key.includes('#'));
    const open = Object.entries(record.segments).flatMap(([key, segs]) =>
      segs.flatMap((seg, i) => (seg.mode === 'stream' && !seg.closed && !(record.writing?.key === key && record.writing.segment === i) ? [{ key, i, seg }] : [])),
    );
    for (const { seg } of open) {
      await this.deps.writer.call('chat.stopStream', { channel: this.ref.channel, ts: seg.ts }).catch(() => undefined);
    }
    const recordedTs = knownTs(record);
    const postedSegments = [...found].filter(([key, ts]) => key.includes('#') && !recordedTs.has(ts));
    if (missing.length === 0 && open.length === 0 && postedSegments.length === 0) return;
    await this.deps.records.update(this.ref, (r) => {
      for (const [key, ts] of missing) r.posted[key] ??= { ts, hash: 'adopted' };
      for (const { key, i } of open) r.segments[key]![i]!.closed = true;
      // A posted text segment whose record was lost: its words are unknown, so it is
      // rewritten from the view by the next pass (never posted a second time).
      for (const [key, ts] of postedSegments) {
        const [blockKey, n] = key.split('#') as [string, string];
        const segs = (r.segments[blockKey] ??= []);
        if (segs.some((s) => s.ts === ts) || Number(n) !== segs.length) continue;
        segs.push({ ...UNKNOWN_WORDS, ts, mode: 'post' });
      }
    });
    this.deps.log.warn({ keys: [...missing.map(([k]) => k), ...postedSegments.map(([k]) => k)], openStreams: open.length }, 'adopted posts that were made but not recorded');
  }

  /**
   * A text write whose outcome is unknown (a crash, a 5xx, a dropped connection): what
   * Slack shows is looked up and recorded, so nothing is written twice and no orphan is
   * left beside a copy. A stream that may have started is looked for among the bot's
   * messages newer than the newest one the record knew: the first is adopted, any other
   * deleted. A stream that may have taken an append or a stop is stopped and rewritten
   * from the view. Returns the block's segments as now recorded.
   */
  private async settleWriting(writing: Writing, segments: Segment[]): Promise<Segment[]> {
    const channel = this.ref.channel;
    let next = segments;
    if (writing.kind === 'start_stream' && writing.segment === segments.length) {
      const record = await this.deps.records.get(this.ref);
      const known = knownTs(record);
      const orphans = (await this.deps.writer.threadMessages(channel, this.ref.threadTs))
        .filter((m): m is typeof m & { ts: string } => typeof m.ts === 'string')
        .filter((m) => m.user === this.deps.botUserId && !known.has(m.ts) && compareTs(m.ts, writing.afterTs ?? '0') > 0)
        .filter((m) => m.metadata?.event_type !== METADATA_EVENT_TYPE && !(m.files?.length))
        .sort((a, b) => compareTs(a.ts, b.ts));
      const [adopt, ...extra] = orphans;
      if (adopt) {
        await this.deps.writer.call('chat.stopStream', { channel, ts: adopt.ts }).catch(() => undefined);
        next = [...segments, { ...UNKNOWN_WORDS, ts: adopt.ts, mode: 'stream', startedAt: Date.now(), lastWriteAt: Date.now() }];
        await this.deps.records.indexMessage(this.ref, adopt.ts);
      }
      for (const m of extra) await this.deps.writer.call('chat.delete', { channel, ts: m.ts }).catch(() => undefined);
      this.deps.log.warn({ key: writing.key, adopted: adopt?.ts, deleted: extra.length }, 'settled a stream start with an unknown outcome');
    } else if ((writing.kind === 'append' || writing.kind === 'stop') && segments[writing.segment]) {
      const seg = segments[writing.segment]!;
      if (!seg.closed) await this.deps.writer.call('chat.stopStream', { channel, ts: seg.ts }).catch(() => undefined);
      next = segments.map((s, i) => (i === writing.segment ? { ...s, hash: '', closed: true } : s));
      this.deps.log.warn({ key: writing.key, kind: writing.kind, ts: seg.ts }, 'a stream write has an unknown outcome; its message is rewritten');
    } else if (writing.kind === 'attach') {
      // Settled when the answer is attached: the reserved file is looked for then.
      return segments;
    }
    const written = next;
    await this.deps.records.update(this.ref, (r) => {
      r.segments[writing.key] = written;
      if (r.writing?.key === writing.key) delete r.writing;
    });
    return next;
  }

  /** Written before a text write Slack gives no key for (see settleWriting). */
  private async intend(writing: Writing): Promise<void> {
    await this.deps.records.update(this.ref, (r) => {
      r.writing = writing;
    });
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

  /** Returns false when later blocks must wait (this block is still being written, or Slack is down). */
  private async deliverText(view: ThreadView, first: Extract<ViewBlock, { kind: 'text' }>, record: ThreadRecord): Promise<boolean> {
    let segments = [...(record.segments[first.key] ?? [])];
    // A write of this block left with an unknown outcome (by a crash or an outage): settled first.
    let writing = record.writing?.key === first.key ? record.writing : undefined;
    if (writing && writing.kind !== 'attach') {
      segments = await this.settleWriting(writing, segments);
      writing = undefined;
    }
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
          canStream: !this.streamingBroken && this.deps.streams.free > 0 && this.deps.writer.scheduler.available({ method: 'chat.startStream', team: 'workspace' }) >= 1,
          ...(this.deps.limits ? { limits: this.deps.limits } : {}),
        });
      let action = plan();
      // Wait for the budget first, then decide what to send: a write that waited carries
      // everything that arrived meanwhile, not what was pending when it started waiting.
      const method = METHOD_OF[action.kind];
      if (method) {
        const lane = { method, team: 'workspace', channel: this.ref.channel };
        await this.deps.writer.scheduler.acquire({ ...lane, priority: 'content' });
        block = this.latest(first.key) ?? block;
        action = plan();
        if (METHOD_OF[action.kind] !== method) {
          this.deps.writer.scheduler.refund(lane);
          continue;
        }
      }
      const channel = this.ref.channel;
      try {
        switch (action.kind) {
          case 'none':
            return !block.open || segments.every((s) => s.closed);
          case 'wait':
            this.content.wake(action.until - now);
            return false;
          case 'start_stream': {
            // Another thread took the last slot meanwhile: give the token back and plan
            // again, which posts instead.
            if (!this.deps.streams.take()) {
              this.deps.writer.scheduler.refund({ method: 'chat.startStream', team: 'workspace', channel });
              continue;
            }
            // A stream carries no key: the intent goes to the store first, so a crash
            // or an unknown outcome is settled by looking in the thread (settleWriting).
            const intent: Writing = { key: block.key, segment: segments.length, kind: 'start_stream', afterTs: newestTs(await this.deps.records.get(this.ref)) };
            await this.intend(intent);
            try {
              const res = await this.deps.writer.callOnce<{ ts?: string }>(
                'chat.startStream',
                {
                  channel,
                  thread_ts: view.threadTs,
                  recipient_user_id: view.recipient.user,
                  recipient_team_id: view.recipient.team,
                  markdown_text: action.prefix + startOfMessage(action.text),
                },
                'preacquired',
              );
              if (!res.ts) throw new SlackCallError('chat.startStream', 'no_ts_in_response');
              segments.push({ ts: res.ts, mode: 'stream', ...carrying(action.text), prefix: action.prefix, closed: false, startedAt: now, lastWriteAt: now });
              await this.deps.records.indexMessage(this.ref, res.ts);
            } catch (error) {
              this.deps.streams.release();
              if (error instanceof SlackCallError && error.unknownOutcome) {
                segments = await this.settleWriting(intent, segments);
                this.content.wake(this.deps.retryDelayMs ?? 5000);
                return false;
              }
              if (error instanceof SlackCallError && !error.transient) {
                // Streaming is not available here (scope, workspace, recipient): post instead.
                this.streamingBroken = true;
                this.deps.log.warn({ slackError: error.slackError }, 'cannot stream in this thread; posting instead');
                continue;
              }
              throw error;
            }
            break;
          }
          case 'append': {
            const seg = segments[action.segment]!;
            const intent: Writing = { key: block.key, segment: action.segment, kind: 'append' };
            await this.intend(intent);
            try {
              // Not retried blindly: an append that landed and answered 5xx would show twice.
              await this.deps.writer.callOnce('chat.appendStream', { channel, ts: seg.ts, markdown_text: action.text }, 'preacquired');
              segments[action.segment] = { ...seg, ...carrying(action.carries), lastWriteAt: now };
            } catch (error) {
              if (error instanceof SlackCallError && error.unknownOutcome) {
                this.deps.streams.release();
                segments = await this.settleWriting(intent, segments);
                continue;
              }
              segments[action.segment] = await this.recoverStream(seg, error, action.carries.slice(0, action.carries.length - action.text.length), true);
            }
            break;
          }
          case 'stop': {
            const seg = segments[action.segment]!;
            const tail = action.text + action.suffix;
            await this.intend({ key: block.key, segment: action.segment, kind: 'stop' });
            try {
              // A stop retried after it landed is refused (not streaming): recoverStream then puts the words in.
              await this.deps.writer.call('chat.stopStream', { channel, ts: seg.ts, ...(tail ? { markdown_text: tail } : {}) }, 'preacquired');
              segments[action.segment] = { ...seg, ...carrying(action.carries), closed: true, lastWriteAt: now };
            } catch (error) {
              segments[action.segment] = await this.recoverStream(seg, error, action.carries + action.suffix, false, action.carries);
            }
            this.deps.streams.release();
            break;
          }
          case 'post': {
            const ts = await this.deps.writer.postOnce(
              channel,
              view.threadTs,
              `${block.key}#${segments.length}`,
              { markdown_text: action.prefix + startOfMessage(action.text) + action.suffix },
              'preacquired',
            );
            segments.push({ ts, mode: 'post', ...carrying(action.text), prefix: action.prefix, closed: true, startedAt: now, lastWriteAt: now });
            await this.deps.records.indexMessage(this.ref, ts);
            break;
          }
          case 'attach': {
            // As with output files: the Slack file id is reserved and recorded before the
            // file is shared, so a crash or an unknown outcome is settled by looking for it.
            let fileId = writing?.kind === 'attach' ? writing.fileId : undefined;
            const shared = fileId !== undefined && (await this.deps.writer.filesInThread(channel, view.threadTs)).has(fileId);
            if (!shared) {
              if (!fileId) {
                fileId = await this.deps.writer.reserveUpload({ filename: 'agent-answer.md', bytes: Buffer.from(action.fullText, 'utf8') });
                writing = { key: block.key, segment: segments.length, kind: 'attach', fileId };
                await this.intend(writing);
              }
              const comment = `The answer is long (${action.fullText.length.toLocaleString('en-US')} characters). The start is above; all of it is in this file.`;
              try {
                await this.deps.writer.completeUploadsOnce(channel, view.threadTs, [{ id: fileId, title: 'Full answer' }], comment);
              } catch (error) {
                // Slack refused the reserved file for good (expired, unknown): the next pass reserves a new one.
                if (error instanceof SlackCallError && !error.transient) {
                  writing = undefined;
                  await this.deps.records.update(this.ref, (r) => {
                    if (r.writing?.key === block.key) delete r.writing;
                  });
                }
                throw error;
              }
            }
            writing = undefined;
            segments.push({ ts: fileId!, mode: 'file', ...carrying(action.rest), prefix: '', closed: true, startedAt: now, lastWriteAt: now });
            break;
          }
          case 'rewrite': {
            const seg = segments[action.segment]!;
            if (seg.mode === 'stream' && !seg.closed) {
              await this.deps.writer.call('chat.stopStream', { channel, ts: seg.ts }).catch(() => undefined);
              this.deps.streams.release();
            }
            await this.deps.writer.call('chat.update', { channel, ts: seg.ts, markdown_text: seg.prefix + startOfMessage(action.text) + action.suffix });
            for (const later of segments.slice(action.segment + 1)) {
              if (later.mode === 'stream' && !later.closed) this.deps.streams.release();
              await this.deps.writer.call('chat.delete', { channel, ts: later.ts }).catch(() => undefined);
            }
            segments = [...segments.slice(0, action.segment), { ...seg, ...carrying(action.text), closed: true, lastWriteAt: now }];
            break;
          }
        }
      } catch (error) {
        if (!(error instanceof SlackCallError)) throw error;
        this.deps.log.warn({ key: block.key, slackError: error.slackError, transient: error.transient }, 'could not deliver agent text; will retry');
        this.content.wake(this.deps.retryDelayMs ?? 5000);
        return false;
      }
      const written = segments;
      await this.deps.records.update(this.ref, (r) => {
        r.segments[block.key] = written;
        if (r.writing?.key === block.key && r.writing.kind !== 'attach') delete r.writing;
        if (r.writing?.key === block.key && r.writing.kind === 'attach' && writing === undefined) delete r.writing;
      });
    }
    return false;
  }

  private latest(key: string): Extract<ViewBlock, { kind: 'text' }> | undefined {
    return this.view().blocks.find((b): b is Extract<ViewBlock, { kind: 'text' }> => b.kind === 'text' && b.key === key);
  }

  /**
   * A stream Slack no longer accepts (expired, stopped by the user): put its exact text in
   * place. `shown`: the message's words (decorations included); `carries`: the block's text in it.
   */
  private async recoverStream(seg: Segment, error: unknown, shown: string, releaseSlot: boolean, carries = shown): Promise<Segment> {
    if (!(error instanceof SlackCallError) || error.transient) throw error;
    this.deps.log.warn({ slackError: error.slackError, ts: seg.ts }, 'stream no longer writable; replacing its text');
    await this.deps.writer.call('chat.update', { channel: this.ref.channel, ts: seg.ts, markdown_text: seg.prefix + startOfMessage(shown) });
    if (!seg.closed && releaseSlot) this.deps.streams.release();
    return { ...seg, ...carrying(carries), closed: true, lastWriteAt: Date.now() };
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
      this.deps.log.error({ key, slackError: error.slackError, shown: fallback?.kind === 'shown' ? fallback.shown : 'nothing' }, 'slack refused a thread message');
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
          ? await writeFallback(edit.body, (b) => this.deps.writer.call('chat.update', { channel: this.ref.channel, ts: edit.ts, ...replaceAll(b) }, 'status'))
          : undefined;
        this.deps.log.error({ key: edit.key, slackError: error.slackError, shown: fallback?.kind === 'shown' ? fallback.shown : 'nothing' }, 'could not edit a status message');
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

/** A segment whose words are not known: the planner rewrites it with the block's text. */
const UNKNOWN_WORDS = { length: 0, hash: '', prefix: '', closed: true, startedAt: 0, lastWriteAt: 0 } as const;

/** Every message ts the record knows in its thread (root, keyed posts, text segments). */
function knownTs(record: ThreadRecord | undefined): Set<string> {
  const known = new Set<string>();
  if (!record) return known;
  known.add(record.threadTs);
  if (record.rootTs) known.add(record.rootTs);
  for (const p of Object.values(record.posted)) if (p.ts) known.add(p.ts);
  for (const segs of Object.values(record.segments)) for (const s of segs) if (s.mode !== 'file') known.add(s.ts);
  return known;
}

/** The newest message ts the record knows: a stream started after it is looked for above it. */
function newestTs(record: ThreadRecord | undefined): string {
  return [...knownTs(record)].reduce((a, b) => (compareTs(a, b) >= 0 ? a : b), '0');
}

/** Slack ts order ("seconds.micros", compared as numbers in both parts). */
function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}

/** The Slack method a text step spends its budget on (steps without one pass straight through). */
const METHOD_OF: Partial<Record<TextAction['kind'], string>> = {
  start_stream: 'chat.startStream',
  append: 'chat.appendStream',
  stop: 'chat.stopStream',
  post: 'chat.postMessage',
};

/** A message does not start with the blank line that separated it from the previous one. */
function startOfMessage(text: string): string {
  return text.replace(/^\n+/, '');
}

/** chat.update keeps fields it is not given: switching body kinds must clear the other. */
function replaceAll(body: SlackBody): Record<string, unknown> {
  return 'markdown_text' in body ? body : { ...body, blocks: body.blocks ?? [] };
}

/**
 * Runs `pass` whenever requested, one pass at a time; requests during a pass fold into
 * one more pass. `wake(ms)` schedules a pass later (one timer, owned and cleared here).
 */
class CoalescingLoop {
  private dirty = false;
  private current: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly log: Logger,
    private readonly onIdle: () => void,
  ) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  get idle(): boolean {
    return !this.current && !this.dirty && this.timer === undefined;
  }

  request(): void {
    if (this.closed) return;
    this.dirty = true;
    this.current ??= this.loop().finally(() => {
      this.current = undefined;
      if (this.dirty && !this.closed) this.request();
      else this.onIdle();
    });
  }

  wake(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.request();
    }, Math.max(0, ms));
  }

  async settled(): Promise<void> {
    while (this.current) await this.current;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await this.pass();
      } catch (error) {
        // At shutdown the writer aborts what waits for budget: the next start finishes it.
        if (this.closed) this.log.debug({ err: error }, 'thread delivery stopped by shutdown');
        else this.log.error({ err: error }, 'thread delivery failed');
      }
    }
  }
}
