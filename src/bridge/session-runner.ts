import type { AgentsClient } from '../agents/client.js';
import { describeApiError, type ApiProblem } from '../agents/api-errors.js';
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
import { isLive } from '../render/root-card.js';
import type { ThreadRecord, ThreadRecords, ThreadRef } from '../store/thread-records.js';
import { foldInPlace, initialState, type LocalEvent, type PendingCustomTool, type ThreadState } from './thread-state.js';
import type { FileBlock } from './file-intake.js';
import { OutputFiles } from './output-files.js';
import { answerOnce } from './runner/answer-once.js';
import { DecisionsDesk, type AnswerOutcome, type Decision, type DecideOutcome, type QuestionAnswer } from './runner/decisions-desk.js';
import { MessageSender } from './runner/message-sender.js';
import { Receipts, type React } from './runner/receipts.js';
import { sessionWire } from './runner/session-wire.js';
import { SpendCapDesk, type CapOutcome, type CapSeen } from './runner/spend-cap-desk.js';
import { StreamFollower } from './runner/stream-follower.js';
import { statusOf, viewOf, wantsStream } from './runner/thread-view.js';
import { ToolDesk } from './runner/tool-desk.js';

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

export type SendOutcome = { kind: 'sent'; eventId: string } | { kind: 'failed'; problem: ApiProblem };
export type InterruptOutcome =
  | { kind: 'sent' }
  | { kind: 'nothing_running' }
  | { kind: 'already_stopping' }
  | { kind: 'failed'; problem: ApiProblem };
/** After a restart: whether the thread's first prompt still has to be sent (with its files, by the bridge). */
export type ResumeOutcome = { kind: 'caught_up' } | { kind: 'prompt_unsent' } | { kind: 'failed' };

/**
 * One thread ⇄ one session. Owns the event stream, folds every event into the
 * thread state, answers custom tools, and hands the rendered view to delivery.
 */
/**
 * One thread ⇄ one session. The runner composes its parts and feeds the fold: the
 * follower brings the session's events, every batch is folded into the thread state,
 * and each part acts on what the fold shows (the tool desk answers custom tools, the
 * decisions desk sends recorded decisions); delivery renders the view into Slack and
 * receipts mark the turn's message. People's intents (send, interrupt, decide, answer,
 * raise the cap) come in through the methods below, each holding the stream open.
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

  /** The session's event stream, open while something wants it. */
  private readonly stream: StreamFollower;
  /** The person's messages and interrupts, each sent once. */
  private readonly sender: MessageSender;
  /** Custom tool calls, each answered once. */
  private readonly tools: ToolDesk;
  /** Approvals and answers to questions, each recorded, then sent once. */
  private readonly decisions: DecisionsDesk;
  /** Raise the cap / End at a spend-cap stop. */
  private readonly spendCap: SpendCapDesk;
  /** Files the agent writes, shared in the thread at each turn end. */
  private readonly outputs: OutputFiles;
  /** ✅/🛑/⚠️ on the message that started a turn. */
  private readonly receipts: Receipts;
  /** The thread's messages in Slack, kept in step with the view. */
  private readonly delivery: ThreadDelivery;

  constructor(
    private record: ThreadRecord & { sessionId: string },
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
    this.receipts = new Receipts(deps.react, this.log);
    this.background = new TaskSet(this.log, () => this.reportIfQuiet());
    const wire = sessionWire(deps.client, record.sessionId);
    const sendAnswer = answerOnce(wire, this.lifetime.signal);
    this.sender = new MessageSender(wire, this.lifetime.signal, this.log);
    this.decisions = new DecisionsDesk({
      state: () => this.state,
      record: { current: () => this.record, update: (change) => this.updateRecord(change) },
      show: () => this.delivery.request(),
      send: sendAnswer,
      track: (work) => this.track(work),
      log: this.log,
      signal: this.lifetime.signal,
      ...(deps.questionTimeoutMs !== undefined ? { questionTimeoutMs: deps.questionTimeoutMs } : {}),
    });
    this.spendCap = new SpendCapDesk({
      ready: () => this.stream.open(),
      state: () => this.state,
      amend: async (change) => void (await this.amend(change)),
      followUntil: (phases) => this.followUntilPhase(phases),
      setCap: async (cents) => void (await deps.client.beta.sessions.update(record.sessionId, { budget: budgetParam(cents) })),
      archive: async () => void (await deps.client.beta.sessions.archive(record.sessionId)),
      log: this.log,
    });
    this.tools = new ToolDesk({
      run: (call) => this.runTool(call),
      send: sendAnswer,
      note: (words) => this.note(words),
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
        this.sender.observe(batch);
        this.apply(batch);
      },
      wanted: () => this.wantsStream(),
      lastProcessedAt: () => this.state.lastProcessedAt,
      onFailure: (error) => this.onStreamFailure(error),
      onClosed: () => this.reportIfQuiet(),
      signal: this.lifetime.signal,
    });
    this.outputs = new OutputFiles(
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
    this.delivery = new ThreadDelivery(record, () => viewOf(this.state, this.record), {
      writer: deps.writer,
      records: deps.records,
      log: this.log,
      streams: deps.streams,
      botUserId: deps.botUserId,
      ...(deps.textLimits ? { limits: deps.textLimits } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      onIdle: () => {
        this.track(this.persistStatus());
        this.reportIfQuiet();
      },
      ...(deps.statusIntervalMs !== undefined ? { statusIntervalMs: deps.statusIntervalMs } : {}),
      ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
    });
  }

  get ref(): ThreadRef {
    return { team: this.record.team, channel: this.record.channel, threadTs: this.record.threadTs };
  }

  get sessionId(): string {
    return this.record.sessionId;
  }

  /** The thread's recorded status (starting, active, idle, failed, …), for the sessions metric. */
  get status(): ThreadRecord['status'] {
    return this.record.status;
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
  sendMessage(text: string, from: { user: string; ts?: string }, files: readonly FileBlock[] = []): Promise<SendOutcome> {
    return this.busy(async () => {
      try {
        await this.stream.open();
        const known = new Set([...this.state.processedUserMessages, ...this.state.queuedUserMessages, ...Object.keys(this.record.sentMessages)]);
        const eventId = await this.sender.sendMessage(text, files, known);
        this.apply([{ type: 'local.user_message_sent', id: eventId }]);
        await this.updateRecord((r) => {
          r.sentMessages[eventId] = { user: from.user, ...(from.ts ? { ts: from.ts } : {}) };
          if (r.status === 'starting' || r.status === 'failed') {
            // The session took the message: an earlier bridge failure is history now.
            r.status = 'active';
            delete r.failure;
          }
        });
        // The turn may have finished while the send was in flight.
        this.track(this.persistStatus());
        if (!this.state.turnOpen && this.state.turnStartedBy === eventId) this.track(this.markTurnDone());
        return { kind: 'sent', eventId };
      } catch (error) {
        const problem = describeApiError(error, 'sending the message to the agent');
        this.log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'could not send user.message');
        return { kind: 'failed', problem };
      }
    });
  }

  /** After a restart: reopen the stream and catch up; says whether the first prompt never went out. */
  resume(): Promise<ResumeOutcome> {
    return this.busy(async (): Promise<ResumeOutcome> => {
      try {
        await this.delivery.adoptPosted();
        await this.stream.open();
        // A turn that ended while the bot was down still shares its files.
        if (!this.state.turnOpen && this.state.turn > 0) this.track(this.shareOutputs());
        const neverSent = this.state.processedUserMessages.length === 0 && this.state.queuedUserMessages.length === 0;
        return { kind: this.record.status === 'starting' && neverSent ? 'prompt_unsent' : 'caught_up' };
      } catch (error) {
        const problem = describeApiError(error, 'reconnecting to the session');
        this.log.error({ err: error, requestId: problem.requestId }, 'could not resume session');
        await this.fail(problem.words);
        return { kind: 'failed' };
      }
    });
  }

  interrupt(user: string): Promise<InterruptOutcome> {
    if (this.record.status !== 'active' && this.record.status !== 'starting') return Promise.resolve({ kind: 'nothing_running' });
    return this.busy(async (): Promise<InterruptOutcome> => {
      try {
        await this.stream.open();
        if (!isLive(this.state) || this.state.phase === 'starting') return { kind: 'nothing_running' };
        if (this.state.interruptId !== undefined) return { kind: 'already_stopping' };
        const id = await this.sender.sendInterrupt((id) => Boolean(this.record.interrupts[id]));
        // Before any await: the echo and the idle may already be folded; fold ignores a late note.
        this.apply([{ type: 'local.interrupt_sent', id }]);
        await this.updateRecord((r) => {
          r.interrupts[id] = user;
        });
        this.delivery.request();
        this.log.info({ user, interruptId: id }, 'interrupt sent');
        return { kind: 'sent' };
      } catch (error) {
        const problem = describeApiError(error, 'stopping the agent');
        this.log.error({ err: error, requestId: problem.requestId }, 'could not send user.interrupt');
        return { kind: 'failed', problem };
      }
    });
  }

  /**
   * A person's Approve/Deny for a tool call. The decision is recorded before it is
   * sent, so a restart in between sends it then (and the card already shows it).
   */
  decide(eventId: string, decision: Decision): Promise<DecideOutcome> {
    return this.busy(async (): Promise<DecideOutcome> => {
      try {
        await this.stream.open();
      } catch (error) {
        return { kind: 'failed', problem: describeApiError(error, 'reading the session') };
      }
      return this.decisions.decide(eventId, decision);
    });
  }

  /** The oldest question still open (history loaded first), if any: replies answer it rather than steer. */
  openQuestion(): Promise<string | undefined> {
    return this.busy(async () => {
      await this.stream.open();
      return this.decisions.openQuestion();
    });
  }

  answer(eventId: string, said: QuestionAnswer & { choice?: number }): Promise<AnswerOutcome> {
    return this.busy(async (): Promise<AnswerOutcome> => {
      await this.stream.open();
      return this.decisions.answer(eventId, said);
    });
  }

  /** A problem the bridge hit: said in the thread and on the status line. */
  async fail(words: string): Promise<void> {
    await this.note(words);
    await this.updateRecord((r) => {
      r.failure = words;
      r.status = 'failed';
    });
    this.deps.watch?.observe(this.record, this.state);
    this.delivery.request();
  }

  /** A line in the thread from the bridge itself (not the agent). */
  async note(words: string): Promise<void> {
    await this.updateRecord((r) => {
      r.notices.push({ key: `n${r.notices.length}`, text: words, afterItems: this.state.items.length });
    });
    this.delivery.request();
  }

  private onStreamFailure(error: unknown): void {
    const problem = describeApiError(error, 'following the session');
    this.log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'event stream failed for good');
    this.track(this.fail(problem.words));
  }

  private apply(events: Array<AgentEvent | LocalEvent>): void {
    const before = this.state.phase;
    const turnWasOpen = this.state.turnOpen;
    for (const event of events) {
      const { state, ignored } = foldInPlace(this.state, event);
      this.state = state;
      if (ignored) this.log.warn({ eventType: ignored.type, problem: ignored.problem }, 'ignored an agent event');
    }
    if (events.length === 0) return;
    this.deps.watch?.observe(this.record, this.state);
    if (this.followUntil?.includes(this.state.phase)) this.followUntil = undefined;
    this.delivery.request();
    this.tools.answer(this.state.pendingCustomTools);
    this.decisions.sendRecorded();
    if (before !== this.state.phase) this.track(this.persistStatus());
    if (turnWasOpen && !this.state.turnOpen) {
      this.track(this.markTurnDone());
      this.track(this.shareOutputs());
    }
  }

  /** After the turn's words are out, the files it wrote follow. */
  private async shareOutputs(): Promise<void> {
    const usedTools = this.state.items.some((i) => i.kind === 'tools' && i.turn === this.state.turn);
    await this.delivery.settled();
    await this.outputs.deliver(usedTools);
  }

  /** A ✅ on the human message that started the turn: its author sees the answer is complete. */
  private async markTurnDone(): Promise<void> {
    const ts = this.state.turnStartedBy ? this.record.sentMessages[this.state.turnStartedBy]?.ts : undefined;
    if (!ts) return;
    await this.receipts.turnDone(this.record.channel, ts, this.state.outcome);
  }

  private async persistStatus(): Promise<void> {
    const phase = this.state.phase;
    const status = statusOf(phase);
    // 'starting' until our first message is accepted (sendMessage reconciles then); 'failed' stays.
    if (status === this.record.status || this.record.status === 'starting' || this.record.status === 'failed') return;
    // A thread stays in the active set until its last messages are out, so a restart
    // in between still finishes delivering it.
    if (status !== 'active' && !this.delivery.idle) return;
    await this.updateRecord((r) => {
      r.status = status;
    });
    this.log.info({ phase, outcome: this.state.outcome }, 'session status changed');
  }

  private wantsStream(): boolean {
    return wantsStream(this.state, { holds: this.holds, followUntil: this.followUntil });
  }

  /** No stream, no caller inside, no tool or write in flight: the state can be rebuilt from history. */
  get quiet(): boolean {
    return this.stream.closed && this.holds === 0 && this.background.size === 0 && !this.tools.busy && this.delivery.idle;
  }

  private reportIfQuiet(): void {
    if (this.quiet && !this.lifetime.signal.aborted) this.onQuiet(this);
  }

  /** One custom tool call, run by the registry with what a tool may use of this thread. */
  private runTool(call: PendingCustomTool): Promise<ToolResult> {
    return this.deps.tools.run(
      call.name,
      call.input,
      {
        ref: this.ref,
        threadTs: this.record.threadTs,
        slack: this.deps.writer,
        botUserId: this.deps.botUserId,
        signal: this.lifetime.signal,
        awaitAnswer: () => this.decisions.awaitAnswer(call.eventId),
      },
      this.log.child({ tool: call.name, toolUseId: call.eventId }),
    );
  }

  /** Writes what a person did into the record and shows it (spend-cap actions). */
  private async amend(change: (r: ThreadRecord) => void): Promise<ThreadRecord> {
    await this.updateRecord(change);
    this.delivery.request();
    return this.record;
  }

  /** Raise the cap on a session stopped at it (`seen`: the record as the caller just read it). */
  raiseCap(stopId: string, user: string, seen: CapSeen): Promise<CapOutcome> {
    return this.busy(() => this.spendCap.raise(stopId, user, seen));
  }

  /** End a session stopped at its spend cap. */
  endAtCap(stopId: string, user: string, seen: Pick<ThreadRecord, 'budgetActions'>): Promise<CapOutcome> {
    return this.busy(() => this.spendCap.end(stopId, user, seen));
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

  private async updateRecord(change: (r: ThreadRecord) => void): Promise<void> {
    const written = await this.deps.records.update(this.ref, change);
    this.record = { ...written, sessionId: this.record.sessionId };
  }

  private track(promise: Promise<unknown>): void {
    this.background.add(promise);
  }
}
