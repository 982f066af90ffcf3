import type { AgentsClient } from '../agents/client.js';
import { describeApiError } from '../agents/api-errors.js';
import type { AgentEvent } from '../agents/events.js';
import { SessionEvents } from '../agents/session-events.js';
import type { BotMetrics } from '../ops/metrics.js';
import type { AgentProfiles } from '../agents/profiles.js';
import type { ToolRegistry } from '../agents/tools/registry.js';
import type { ToolResult } from '../agents/tools/custom-tool.js';
import { budgetParam } from '../access/spend-cap.js';
import { downloadOutput, listOutputs } from '../agents/files-api.js';
import { ThreadDelivery } from '../delivery/thread-delivery.js';
import type { StreamSlots } from '../delivery/stream-slots.js';
import type { TextLimits } from '../delivery/text-plan.js';
import type { SlackWriter } from '../delivery/slack-writer.js';
import { delay } from '../ops/delay.js';
import { TaskSet } from '../ops/task-set.js';
import type { Logger } from '../ops/logger.js';
import type { ThreadRecord, ThreadRecords, ThreadRef } from '../store/thread-records.js';
import { foldInPlace, initialState, type LocalEvent, type PendingCustomTool, type ThreadState } from './thread-state.js';
import type { FileBlock } from './file-intake.js';
import { OutputFiles } from './output-files.js';
import { answerOnce } from './runner/answer-once.js';
import { DecisionsDesk, type AnswerOutcome, type Decision, type DecideOutcome, type QuestionAnswer } from './runner/decisions-desk.js';
import { MessageSender } from './runner/message-sender.js';
import { Receipts, type React } from './runner/receipts.js';
import { RecordKeeper } from './runner/record-keeper.js';
import { SessionIntents, type InterruptOutcome, type ResumeOutcome, type SendOutcome, type SentBy } from './runner/session-intents.js';
import { sessionWire } from './runner/session-wire.js';
import { SpendCapDesk, type CapOutcome, type CapSeen } from './runner/spend-cap-desk.js';
import { StreamFollower } from './runner/stream-follower.js';
import { viewOf, wantsStream } from './runner/thread-view.js';
import { ToolDesk } from './runner/tool-desk.js';
import { TurnEnds } from './runner/turn-ends.js';

export type RunnerDeps = {
  client: AgentsClient;
  writer: SlackWriter;
  /** Reactions on people's messages (receipts), wired to Slack by the composition root. */
  react: React;
  records: ThreadRecords;
  tools: ToolRegistry;
  log: Logger;
  botUserId: string;
  statusIntervalMs?: number;
  retryDelayMs?: number;
  /** How long close() lets pending Slack writes finish. */
  closeGraceMs?: number;
  streams: StreamSlots;
  textLimits?: Partial<TextLimits>;
  streamBackoff?: { initialMs: number; maxMs: number };
  /** How long an open event stream may stay without a byte (event or heartbeat) before it is replaced. */
  streamSilenceMs?: number;
  /** How long an ask_user question waits for an answer before the agent is told nobody answered. */
  questionTimeoutMs?: number;
  /** Waits before listing a turn's output files again when none show yet. */
  outputRetryDelaysMs?: readonly number[];
  /** Which agent new sessions run; `approversFor(record.profile)` for who may approve besides the owner. */
  profiles: AgentProfiles;
  /** The bot's metrics (agent events, stream reconnects, delivery lag); none in tests that do not look. */
  metrics?: Pick<BotMetrics, 'agentEvents' | 'streamReconnects' | 'deliveryLag'>;
  /** Told what each thread folded (Slack's native status, the Home tab); must not throw or block. */
  watch?: SessionWatch;
};

/** Watches every runner's folded state: Slack's own session status and mission control are drawn from it. */
export type SessionWatch = {
  observe(record: ThreadRecord, state: ThreadState): void;
};

export type { AnswerOutcome, DecideOutcome, QuestionAnswer } from './runner/decisions-desk.js';
export type { InterruptOutcome, ResumeOutcome, SendOutcome } from './runner/session-intents.js';

/**
 * One thread ⇄ one session. The runner composes its parts and feeds the fold: the
 * follower brings the session's events, every batch is folded into the thread state,
 * and each part acts on what the fold shows (the tool desk answers custom tools, the
 * decisions desk sends recorded decisions, turn ends write the status and share files);
 * delivery renders the view into Slack. People's intents (send, interrupt, decide,
 * answer, raise the cap) go to the session intents, each holding the stream open.
 */
export class SessionRunner {
  private state: ThreadState = initialState();
  private readonly log: Logger;
  /** Aborted on close: waits, sends and tool runs give up, and a failing stream is not a failure. */
  private readonly lifetime = new AbortController();
  /** Intents in flight that need the stream open even though the session looks idle. */
  private holds = 0;
  /** Keep following the stream, though the session looks idle, until it reaches one of these phases (a raised spend cap, an ended session). */
  private followUntil: ReadonlyArray<ThreadState['phase']> | undefined;
  /** Status writes, receipts, output sharing and resent decisions: waited for by settled() and close(). */
  private readonly background: TaskSet;

  /** The thread record as last written, and the bridge's own lines in the thread. */
  private readonly record: RecordKeeper;
  /** The session's event stream, open while something wants it. */
  private readonly stream: StreamFollower;
  /** Custom tool calls, each answered once. */
  private readonly tools: ToolDesk;
  /** Approvals and answers to questions, each recorded, then sent once. */
  private readonly decisions: DecisionsDesk;
  /** A new phase in the record; a finished turn's receipt and files. */
  private readonly turnEnds: TurnEnds;
  /** People's intents: message, interrupt, decision, answer, spend-cap press, catch-up. */
  private readonly intents: SessionIntents;
  /** The thread's messages in Slack, kept in step with the view. */
  private readonly delivery: ThreadDelivery;

  constructor(
    record: ThreadRecord & { sessionId: string },
    private readonly deps: RunnerDeps,
    /** Called when the runner holds nothing open, so its owner may drop it. */
    private readonly onQuiet: (runner: SessionRunner) => void = () => undefined,
  ) {
    this.log = deps.log.child({
      team: record.team,
      channel: record.channel,
      thread: record.threadTs,
      sessionId: record.sessionId,
    });
    const receipts = new Receipts(deps.react, this.log);
    this.background = new TaskSet(this.log, () => this.reportIfQuiet());
    this.record = new RecordKeeper(record, {
      write: (change) => deps.records.update(this.ref, change),
      show: () => this.delivery.request(),
      itemsShown: () => this.state.items.length,
      failed: (written) => deps.watch?.observe(written, this.state),
    });
    const wire = sessionWire(deps.client, record.sessionId);
    const sendAnswer = answerOnce(wire, this.lifetime.signal);
    const sender = new MessageSender(wire, this.lifetime.signal, this.log);
    this.decisions = new DecisionsDesk({
      state: () => this.state,
      record: { current: () => this.record.current(), update: (change) => this.record.update(change) },
      show: () => this.delivery.request(),
      send: sendAnswer,
      track: (work) => this.track(work),
      log: this.log,
      signal: this.lifetime.signal,
      ...(deps.questionTimeoutMs !== undefined ? { questionTimeoutMs: deps.questionTimeoutMs } : {}),
    });
    const spendCap = new SpendCapDesk({
      ready: () => this.stream.open(),
      state: () => this.state,
      amend: async (change) => void (await this.record.amend(change)),
      followUntil: (phases) => this.followUntilPhase(phases),
      setCap: async (cents) => void (await deps.client.beta.sessions.update(record.sessionId, { budget: budgetParam(cents) })),
      archive: async () => void (await deps.client.beta.sessions.archive(record.sessionId)),
      log: this.log,
    });
    this.tools = new ToolDesk({
      run: (call) => this.runTool(call),
      send: sendAnswer,
      note: (words) => this.record.note(words),
      log: this.log,
      signal: this.lifetime.signal,
      onRunEnded: () => this.reportIfQuiet(),
    });
    const events = new SessionEvents(deps.client, record.sessionId, this.log, deps.streamBackoff, deps.streamSilenceMs, (reason) =>
      deps.metrics?.streamReconnects.inc({ reason }),
    );
    this.stream = new StreamFollower({
      follow: (opts) => events.follow(opts),
      onEvents: (batch) => {
        for (const event of batch) deps.metrics?.agentEvents.inc({ type: event.type });
        sender.observe(batch);
        this.apply(batch);
      },
      wanted: () => this.wantsStream(),
      lastProcessedAt: () => this.state.lastProcessedAt,
      onFailure: (error) => this.onStreamFailure(error),
      onClosed: () => this.reportIfQuiet(),
      signal: this.lifetime.signal,
    });
    const outputs = new OutputFiles(
      {
        outputs: {
          list: (opts) => listOutputs(deps.client, record.sessionId, opts),
          download: (file, maxBytes) => downloadOutput(deps.client, file, maxBytes),
        },
        writer: deps.writer,
        records: deps.records,
        log: this.log,
        ...(deps.outputRetryDelaysMs ? { retryDelaysMs: deps.outputRetryDelaysMs } : {}),
      },
      this.ref,
      this.lifetime.signal,
    );
    this.turnEnds = new TurnEnds({
      state: () => this.state,
      record: this.record,
      delivery: { idle: () => this.delivery.idle, settled: () => this.delivery.settled() },
      shareFiles: (usedTools) => outputs.deliver(usedTools),
      markTurn: (channel, ts, outcome) => receipts.turnDone(channel, ts, outcome),
      track: (work) => this.track(work),
      log: this.log,
    });
    this.intents = new SessionIntents({
      busy: (work) => this.busy(work),
      openStream: () => this.stream.open(),
      state: () => this.state,
      fold: (events) => this.apply(events),
      record: this.record,
      sender,
      decisions: this.decisions,
      spendCap,
      delivery: { request: () => this.delivery.request(), adoptPosted: () => this.delivery.adoptPosted() },
      turnEnds: this.turnEnds,
      track: (work) => this.track(work),
      log: this.log,
    });
    this.delivery = new ThreadDelivery(record, () => viewOf(this.state, this.record.current()), {
      writer: deps.writer,
      records: deps.records,
      log: this.log,
      streams: deps.streams,
      botUserId: deps.botUserId,
      ...(deps.textLimits ? { limits: deps.textLimits } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      onIdle: () => {
        this.track(this.turnEnds.persistStatus());
        this.reportIfQuiet();
      },
      ...(deps.statusIntervalMs !== undefined ? { statusIntervalMs: deps.statusIntervalMs } : {}),
      ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
    });
  }

  get ref(): ThreadRef {
    return this.record.ref;
  }

  get sessionId(): string {
    return this.record.current().sessionId;
  }

  /** The thread's recorded status (starting, active, idle, failed, …), for the sessions metric. */
  get status(): ThreadRecord['status'] {
    return this.record.current().status;
  }

  /** For tests and shutdown: resolves once pending Slack writes are done. */
  async settled(): Promise<void> {
    // Delivery going idle can start background work (status writes) and vice versa.
    do {
      await this.background.settled();
      await this.delivery.settled();
    } while (this.background.size > 0);
  }

  async close(): Promise<void> {
    this.lifetime.abort(new Error('runner closed'));
    this.stream.stop();
    await this.stream.wound();
    // Let what is already folded reach Slack, but do not hold shutdown hostage to an
    // outage or to a long rate-limit queue: whatever still waits is abandoned (and
    // redone from the record and history by the next start).
    const grace = delay(this.deps.closeGraceMs ?? 10_000).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.background.current(), ...this.tools.current(), this.delivery.settled()]), grace]);
    this.delivery.close();
  }

  /** The root card was posted a moment ago (a new session): no need to edit it at once. */
  rootJustPosted(): void {
    this.delivery.deferStatus();
  }

  /** Keeps the runner (and its stream) held while a multi-step intent runs. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    this.holds += 1;
    try {
      return await work();
    } finally {
      this.holds -= 1;
      this.stream.stopIfUnwanted();
      this.reportIfQuiet();
    }
  }

  /** A human message for the agent: the first prompt, a steer mid-run, or the next turn. `files`: image/document blocks after the text. */
  sendMessage(text: string, from: SentBy, files: readonly FileBlock[] = []): Promise<SendOutcome> {
    return this.intents.sendMessage(text, from, files);
  }

  /** After a restart: reopen the stream and catch up; says whether the first prompt never went out. */
  resume(): Promise<ResumeOutcome> {
    return this.intents.resume();
  }

  interrupt(user: string, mayHaveLanded = false): Promise<InterruptOutcome> {
    return this.intents.interrupt(user, mayHaveLanded);
  }

  /** A person's Approve/Deny for a tool call (recorded before it is sent). */
  decide(eventId: string, decision: Decision): Promise<DecideOutcome> {
    return this.intents.decide(eventId, decision);
  }

  /** The oldest question still open (history loaded first), if any: replies answer it rather than steer. */
  openQuestion(): Promise<string | undefined> {
    return this.intents.openQuestion();
  }

  answer(eventId: string, said: QuestionAnswer & { choice?: number }): Promise<AnswerOutcome> {
    return this.intents.answer(eventId, said);
  }

  /** Raise the cap on a session stopped at it (`seen`: the record as the caller just read it). */
  raiseCap(stopId: string, user: string, seen: CapSeen): Promise<CapOutcome> {
    return this.intents.raiseCap(stopId, user, seen);
  }

  /** End a session stopped at its spend cap. */
  endAtCap(stopId: string, user: string, seen: Pick<ThreadRecord, 'budgetActions'>): Promise<CapOutcome> {
    return this.intents.endAtCap(stopId, user, seen);
  }

  /** A problem the bridge hit: said in the thread and on the status line. */
  fail(words: string): Promise<void> {
    return this.record.fail(words);
  }

  /** A line in the thread from the bridge itself (not the agent). */
  note(words: string): Promise<void> {
    return this.record.note(words);
  }

  /** No stream, no caller inside, no tool or write in flight: the state can be rebuilt from history. */
  get quiet(): boolean {
    return this.stream.closed && this.holds === 0 && this.background.size === 0 && !this.tools.busy && this.delivery.idle;
  }

  private onStreamFailure(error: unknown): void {
    const problem = describeApiError(error, 'following the session');
    this.log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'event stream failed for good');
    this.track(this.record.fail(problem.words));
  }

  private apply(events: Array<AgentEvent | LocalEvent>): void {
    const before = { phase: this.state.phase, turnOpen: this.state.turnOpen };
    for (const event of events) {
      const { state, ignored } = foldInPlace(this.state, event);
      this.state = state;
      if (ignored) this.log.warn({ eventType: ignored.type, problem: ignored.problem }, 'ignored an agent event');
    }
    if (events.length === 0) return;
    this.deps.watch?.observe(this.record.current(), this.state);
    if (this.followUntil?.includes(this.state.phase)) this.followUntil = undefined;
    this.delivery.request();
    this.tools.answer(this.state.pendingCustomTools);
    this.decisions.sendRecorded();
    this.turnEnds.afterFold(before);
  }

  private wantsStream(): boolean {
    return wantsStream(this.state, { holds: this.holds, followUntil: this.followUntil });
  }

  private reportIfQuiet(): void {
    if (this.quiet && !this.lifetime.signal.aborted) this.onQuiet(this);
  }

  /** One custom tool call, run by the registry with what a tool may use of this thread. */
  private runTool(call: PendingCustomTool): Promise<ToolResult> {
    const record = this.record.current();
    return this.deps.tools.run(
      call.name,
      call.input,
      {
        ref: this.ref,
        threadTs: record.threadTs,
        slack: this.deps.writer,
        botUserId: this.deps.botUserId,
        signal: this.lifetime.signal,
        awaitAnswer: () => this.decisions.awaitAnswer(call.eventId),
      },
      this.log.child({ tool: call.name, toolUseId: call.eventId }),
    );
  }

  /**
   * The session will move by itself (a raised cap resumes it, an archive ends it): follow
   * its stream until it reaches one of `phases`, so the thread shows what happens next.
   */
  private followUntilPhase(phases: ReadonlyArray<ThreadState['phase']> | undefined): void {
    this.followUntil = phases;
    if (phases) void this.stream.open().catch(() => undefined);
    else this.stream.stopIfUnwanted();
  }

  private track(promise: Promise<unknown>): void {
    this.background.add(promise);
  }
}
