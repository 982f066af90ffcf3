import type { ViewBlock } from '../render/thread-view.js';
import type { ThreadRecord, ThreadRef, Writing } from '../store/thread-records.js';
import type { OpenStreams } from './open-streams.js';
import { type SettleRecords, type SettleWriter, settleWriting } from './settle-writing.js';
import { SlackCallError } from './slack-writer.js';
import { type AppendWriter, appendToStream } from './text-steps/append.js';
import { type AttachWriter, attachAnswer } from './text-steps/attach.js';
import { type PostWriter, postText } from './text-steps/post.js';
import { type RewriteWriter, rewriteText } from './text-steps/rewrite.js';
import { type StartStreamWriter, startStream } from './text-steps/start-stream.js';
import type { StepOutcome, TextStepContext } from './text-steps/step.js';
import { type StopWriter, stopStream } from './text-steps/stop.js';
import { planText, type Segment, type TextAction, type TextLimits } from './text-plan.js';
import { newestTs } from './thread-ts.js';
import type { WriteRequest, WriteScheduler } from './write-scheduler.js';

export type TextBlock = Extract<ViewBlock, { kind: 'text' }>;

/** The Slack calls text delivery makes: each step's own, settling, and the write budget. */
export type TextWriter = StartStreamWriter &
  AppendWriter &
  StopWriter &
  PostWriter &
  AttachWriter &
  RewriteWriter &
  SettleWriter & {
    scheduler: Pick<WriteScheduler, 'available' | 'refund'>;
    /** SlackWriter.acquire: the budget first (given up when the runner's lease fence shuts). */
    acquire(req: WriteRequest): Promise<void>;
  };

export type TextDeliveryDeps = {
  ref: ThreadRef;
  writer: TextWriter;
  records: SettleRecords;
  log: { warn(obj: object, msg: string): void };
  /** The stream slots this thread's open streams hold. */
  streams: OpenStreams;
  limits?: Partial<TextLimits> | undefined;
  retryDelayMs?: number | undefined;
  /** The bot's own user id: its unrecorded messages in a thread are found by it. */
  botUserId?: string | undefined;
  /** Observes each write's lag: from when its oldest word was there to when Slack took it. */
  metrics?: { deliveryLag: { observe(labels: { step: string }, seconds: number): void } } | undefined;
};

/** What the thread's delivery lends its text: the view as it is now, whether it closed, a later pass. */
export type TextThread = {
  latest(key: string): TextBlock | undefined;
  closed(): boolean;
  wake(ms: number): void;
};

/** Where one text block stands during a pass: its segments as recorded, and a long answer's reserved file. */
type Progress = { segments: Segment[]; attachIntent: Writing | undefined };

type WriteAction = Exclude<TextAction, { kind: 'none' } | { kind: 'wait' }>;
type Lane = { method: string; team: string; channel: string };

/** What the planner and the budget say to do next. */
type NextStep =
  /** Nothing to write: `caughtUp` when later blocks may go (this one is complete or shows no open stream). */
  | { kind: 'done'; caughtUp: boolean }
  /** Not yet (lingering, flush gap): a pass is woken for it. */
  | { kind: 'later' }
  /** The step changed while it waited for its budget (refunded): plan again. */
  | { kind: 'again' }
  /** Write `action` for `block`, its budget spent on `lane` (attach and rewrite take none). */
  | { kind: 'write'; block: TextBlock; action: WriteAction; lane: Lane | undefined };

/** What a step's outcome means for the pass. */
type AfterStep = { kind: 'next' } | { kind: 'stop' };

/** A pass takes no more steps than this on one block; anything left goes in the next pass. */
const MAX_STEPS = 50;

/**
 * The agent's words to Slack, one text block at a time, step by step: plan on the latest
 * words, wait for the step's budget, plan again, dispatch to the step (text-steps/), record
 * what it wrote. Lives as long as the thread's delivery: it keeps when each block's words
 * appeared and whether Slack lets this thread stream.
 */
export class TextDelivery {
  private readonly pendingSince = new Map<string, number>();
  private streamingBroken = false;

  constructor(
    private readonly deps: TextDeliveryDeps,
    private readonly thread: TextThread,
  ) {}

  /** Returns false when later blocks must wait (this block is still being written, or Slack is down). */
  async deliver(threadTs: string, recipient: { user: string; team: string }, first: TextBlock, record: ThreadRecord): Promise<boolean> {
    const progress = await this.resume(first.key, record);
    let block = first;
    for (let step = 0; step < MAX_STEPS && !this.thread.closed(); step++) {
      // The view moves on while writes wait for their budget: always plan on the latest words.
      block = this.thread.latest(first.key) ?? block;
      const now = Date.now();
      this.notePending(block, progress.segments, now);
      const next = await this.nextStep(block, progress, now);
      switch (next.kind) {
        case 'done':
          return next.caughtUp;
        case 'later':
          return false;
        case 'again':
          continue;
        case 'write': {
          block = next.block;
          const outcome = await this.run(threadTs, recipient, block.key, next.action, progress, now);
          const after = await this.apply(outcome, next, progress);
          if (after.kind === 'stop') return false;
          break;
        }
        default: {
          const unhandled: never = next;
          return unhandled;
        }
      }
    }
    return false;
  }

  /**
   * The block's segments as recorded; a write of it left with an unknown outcome (by a
   * crash or an outage) is settled first. A long answer's file reserved before it was
   * shared stays the intent: the attach step looks for it first.
   */
  private async resume(key: string, record: ThreadRecord): Promise<Progress> {
    const progress: Progress = { segments: [...(record.segments[key] ?? [])], attachIntent: undefined };
    const left = record.writing?.key === key ? record.writing : undefined;
    if (left?.kind === 'attach') progress.attachIntent = left;
    else if (left) await this.settle(key, left, progress);
    return progress;
  }

  private notePending(block: TextBlock, segments: readonly Segment[], now: number): void {
    const delivered = segments.reduce((n, s) => n + s.length, 0);
    if (block.text.length <= delivered) this.pendingSince.delete(block.key);
    else if (!this.pendingSince.has(block.key)) this.pendingSince.set(block.key, now);
  }

  /**
   * `holding`: the method whose budget token this step has already taken. That token is
   * the step's own, so it counts towards the method's budget: without it a replan after
   * the wait would see one token fewer, and with between one and two startStream tokens
   * left it would turn a stream into a post, refund, plan a stream again, and so on until
   * the pass gave up (the thread then stayed where it was until the agent said more).
   */
  private plan(block: TextBlock, segments: readonly Segment[], holding?: string): TextAction {
    const { writer, streams, limits } = this.deps;
    const streamTokens = writer.scheduler.available({ method: 'chat.startStream', team: 'workspace' }) + (holding === 'chat.startStream' ? 1 : 0);
    return planText({
      text: block.text,
      committed: block.committed,
      open: block.open,
      segments,
      now: Date.now(),
      pendingSince: this.pendingSince.get(block.key),
      canStream: !this.streamingBroken && streams.free > 0 && streamTokens >= 1,
      ...(limits ? { limits } : {}),
    });
  }

  /**
   * Waits for the budget first, then decides what to send: a write that waited carries
   * everything that arrived meanwhile, not what was pending when it started waiting.
   */
  private async nextStep(block: TextBlock, progress: Progress, now: number): Promise<NextStep> {
    const action = this.plan(block, progress.segments);
    if (action.kind === 'none') return { kind: 'done', caughtUp: !block.open || progress.segments.every((s) => s.closed) };
    if (action.kind === 'wait') {
      this.thread.wake(action.until - now);
      return { kind: 'later' };
    }
    const method = METHOD_OF[action.kind];
    if (!method) return { kind: 'write', block, action, lane: undefined };
    const lane = { method, team: 'workspace', channel: this.deps.ref.channel };
    const { scheduler } = this.deps.writer;
    await this.deps.writer.acquire({ ...lane, priority: 'content' });
    const latest = this.thread.latest(block.key) ?? block;
    const replanned = this.plan(latest, progress.segments, method);
    if (METHOD_OF[replanned.kind] !== method) {
      scheduler.refund(lane);
      return { kind: 'again' };
    }
    // Narrows for the compiler: a step with a method is neither 'none' nor 'wait'.
    if (replanned.kind === 'none' || replanned.kind === 'wait') return { kind: 'again' };
    return { kind: 'write', block: latest, action: replanned, lane };
  }

  /** Runs one step; Slack failing the call (down, refusing) is an outcome, anything else a bug that is thrown. */
  private async run(
    threadTs: string,
    recipient: { user: string; team: string },
    key: string,
    action: WriteAction,
    progress: Progress,
    now: number,
  ): Promise<StepOutcome | { kind: 'slack_failed'; error: SlackCallError }> {
    try {
      return await this.dispatch(threadTs, recipient, key, action, progress, now);
    } catch (error) {
      if (!(error instanceof SlackCallError)) throw error;
      return { kind: 'slack_failed', error };
    }
  }

  /** Runs one text step with what it needs (text-steps/). */
  private async dispatch(
    threadTs: string,
    recipient: { user: string; team: string },
    key: string,
    action: WriteAction,
    progress: Progress,
    now: number,
  ): Promise<StepOutcome> {
    const { ref, writer, records, log, streams } = this.deps;
    const ctx: TextStepContext = {
      channel: ref.channel,
      threadTs,
      key,
      segments: progress.segments,
      now,
      intend: (writing) =>
        records
          .update(ref, (r) => {
            r.writing = writing;
          })
          .then(() => undefined),
      indexMessage: (ts) => records.indexMessage(ref, ts),
      log,
    };
    switch (action.kind) {
      case 'start_stream':
        return startStream({ ...ctx, recipient, afterTs: newestTs(await records.get(ref)) }, action, writer, streams);
      case 'append':
        return appendToStream(ctx, action, writer);
      case 'stop':
        return stopStream(ctx, action, writer);
      case 'post':
        return postText(ctx, action, writer);
      case 'attach': {
        const forgetIntent = () =>
          records
            .update(ref, (r) => {
              if (r.writing?.key === key) delete r.writing;
            })
            .then(() => undefined);
        return attachAnswer({ ...ctx, reserved: progress.attachIntent?.fileId, forgetIntent }, action, writer);
      }
      case 'rewrite':
        return rewriteText(ctx, action, writer);
    }
  }

  /** Records what a step did and says whether the pass goes on. */
  private async apply(
    outcome: StepOutcome | { kind: 'slack_failed'; error: SlackCallError },
    step: Extract<NextStep, { kind: 'write' }>,
    progress: Progress,
  ): Promise<AfterStep> {
    const key = step.block.key;
    switch (outcome.kind) {
      case 'slack_failed': {
        const { slackError, transient } = outcome.error;
        this.deps.log.warn({ key, slackError, transient }, 'could not deliver agent text; will retry');
        this.thread.wake(this.deps.retryDelayMs ?? 5000);
        return { kind: 'stop' };
      }
      case 'replan':
        if (step.lane) this.deps.writer.scheduler.refund(step.lane);
        return { kind: 'next' };
      case 'cannot_stream':
        this.streamingBroken = true;
        this.deps.log.warn({ slackError: outcome.slackError }, 'cannot stream in this thread; posting instead');
        return { kind: 'next' };
      case 'unknown_outcome':
        await this.settle(key, outcome.intent, progress);
        if (outcome.next === 'replan') return { kind: 'next' };
        this.thread.wake(this.deps.retryDelayMs ?? 5000);
        return { kind: 'stop' };
      case 'written': {
        const since = this.pendingSince.get(key);
        if (since !== undefined) this.deps.metrics?.deliveryLag.observe({ step: step.action.kind }, (Date.now() - since) / 1000);
        this.track(key, progress, outcome.segments);
        if (step.action.kind === 'attach') progress.attachIntent = undefined;
        const written = outcome.segments;
        const keepAttach = progress.attachIntent !== undefined;
        await this.deps.records.update(this.deps.ref, (r) => {
          r.segments[key] = written;
          if (r.writing?.key === key && (r.writing.kind !== 'attach' || !keepAttach)) delete r.writing;
        });
        return { kind: 'next' };
      }
      default: {
        const unhandled: never = outcome;
        return unhandled;
      }
    }
  }

  /** A write whose outcome is unknown, settled from the thread (see settle-writing.ts). */
  private async settle(key: string, writing: Writing, progress: Progress): Promise<void> {
    const { ref, writer, records, log, botUserId } = this.deps;
    this.track(key, progress, await settleWriting({ ref, writer, records, log, botUserId }, writing, progress.segments));
  }

  /** The block's segments now; a stream they no longer show open gives its slot back. */
  private track(key: string, progress: Progress, segments: Segment[]): void {
    progress.segments = segments;
    this.deps.streams.reconcile(key, segments);
  }
}

/** The Slack method a text step spends its budget on (steps without one pass straight through). */
const METHOD_OF: Partial<Record<TextAction['kind'], string>> = {
  start_stream: 'chat.startStream',
  append: 'chat.appendStream',
  stop: 'chat.stopStream',
  post: 'chat.postMessage',
};
