import type { AgentsClient } from '../agents/client.js';
import { sendOnce } from '../agents/send-once.js';
import { describeApiError, isStatus, type ApiProblem } from '../agents/api-errors.js';
import { textOf, type AgentEvent } from '../agents/events.js';
import { SessionEvents, type BatchVerdict } from '../agents/session-events.js';
import type { AgentProfiles } from '../agents/profiles.js';
import type { ToolRegistry } from '../agents/tools/registry.js';
import { ThreadDelivery, type ThreadView } from '../delivery/thread-delivery.js';
import type { StreamSlots } from '../delivery/stream-slots.js';
import type { TextLimits } from '../delivery/text-plan.js';
import { SlackCallError, type SlackWriter } from '../delivery/slack-writer.js';
import { delay } from '../ops/delay.js';
import { TaskSet } from '../ops/task-set.js';
import type { Logger } from '../ops/logger.js';
import { isLive, renderRootCard } from '../render/root-card.js';
import { renderThread } from '../render/thread-view.js';
import { threadKey, type ThreadRecord, type ThreadRecords, type ThreadRef } from '../store/thread-records.js';
import { foldInPlace, initialState, openQuestions, pendingApprovals, type LocalEvent, type ThreadState } from './thread-state.js';
import type { FileBlock } from './file-intake.js';
import { OutputFiles } from './output-files.js';

export type RunnerDeps = {
  client: AgentsClient;
  writer: SlackWriter;
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
  /** Waits before listing a turn's output files again when none show yet (files, issue 4). */
  outputRetryDelaysMs?: readonly number[];
  /** Which agent new sessions run; `approversFor(record.profile)` for who may approve besides the owner. */
  profiles: AgentProfiles;
};

export type DecideOutcome = 'sent' | 'not_pending' | { problem: ApiProblem };
export type AnswerOutcome = 'answered' | 'not_open';

export type SendOutcome = { ok: true; eventId: string } | { ok: false; problem: ApiProblem };
export type InterruptOutcome = 'sent' | 'nothing_running' | 'already_stopping' | { problem: ApiProblem };
/** After a restart: whether the thread's first prompt still has to be sent (with its files, by the bridge). */
export type ResumeOutcome = 'caught_up' | 'prompt_unsent' | 'failed';
/** A person's answer to an ask_user question; files shared with a reply go with it. */
export type QuestionAnswer = { user: string; text: string; attachments?: { text: string; blocks: FileBlock[] } };

/**
 * One thread ⇄ one session. Owns the event stream, folds every event into the
 * thread state, answers custom tools, and hands the rendered view to delivery.
 */
export class SessionRunner {
  private state: ThreadState = initialState();
  private readonly events: SessionEvents;
  private readonly delivery: ThreadDelivery;
  private readonly log: Logger;
  private readonly lifetime = new AbortController();
  private following: { done: Promise<void>; ready: Promise<void>; abort: AbortController } | undefined;
  /** Every follow loop still winding down, so close() can wait for all of them. */
  private readonly follows = new Set<Promise<void>>();
  /** Custom tool calls answered by this runner: never run twice, even before the echo arrives. */
  private readonly answeredTools = new Set<string>();
  /** Texts of user.message events seen queued on the stream (not yet in the events list). */
  private readonly queuedTexts = new Map<string, string>();
  /** user.interrupt events folded so far: one that appears after a failed send is ours. */
  private readonly seenInterrupts = new Set<string>();
  private historyLoaded = false;
  /** Sends in flight that need the stream open even though the session looks idle. */
  private holds = 0;
  private readonly toolsInFlight = new Set<string>();
  /** ask_user calls waiting for a person, by custom_tool_use event id. */
  private readonly answerWaiters = new Map<string, (answer: QuestionAnswer) => void>();
  /** Confirmations being sent, by tool_use event id, and those the API has taken. */
  private readonly decisionsInFlight = new Set<string>();
  private readonly decisionsSent = new Set<string>();
  private readonly background: TaskSet;
  /** Custom tool runs: apart from `background`, because one may wait hours for a person (ask_user). */
  private readonly toolRuns: TaskSet;
  /** Files the agent writes, shared in the thread at each turn end (files, issue 4). */
  private readonly outputs: OutputFiles;
  /** Keep following the stream, though the session looks idle, until it reaches one of these phases (a raised spend cap, an ended session). */
  private followUntil: ReadonlyArray<ThreadState['phase']> | undefined;

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
    this.background = new TaskSet(this.log, () => this.reportIfQuiet());
    this.toolRuns = new TaskSet(this.log, () => this.reportIfQuiet());
    this.events = new SessionEvents(deps.client, record.sessionId, this.log, deps.streamBackoff, deps.streamSilenceMs);
    this.outputs = new OutputFiles(
      { client: deps.client, writer: deps.writer, records: deps.records, log: this.log, ...(deps.outputRetryDelaysMs ? { retryDelaysMs: deps.outputRetryDelaysMs } : {}) },
      this.ref,
      record.sessionId,
      this.lifetime.signal,
    );
    this.delivery = new ThreadDelivery(record, () => this.view(), {
      writer: deps.writer,
      records: deps.records,
      log: this.log,
      streams: deps.streams,
      botUserId: deps.botUserId,
      ...(deps.textLimits ? { limits: deps.textLimits } : {}),
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
    this.stopFollowing();
    await Promise.allSettled([...this.follows]);
    // Let what is already folded reach Slack, but do not hold shutdown hostage to an
    // outage or to a long rate-limit queue: whatever still waits is abandoned (and
    // redone from the record and history by the next start).
    const grace = delay(this.deps.closeGraceMs ?? 10_000).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.background.current(), ...this.toolRuns.current(), this.delivery.settled()]), grace]);
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
      this.closeStreamIfQuiet();
      this.reportIfQuiet();
    }
  }

  /** A human message for the agent: the first prompt, a steer mid-run, or the next turn. `files`: image/document blocks after the text. */
  sendMessage(text: string, from: { user: string; ts?: string }, files: readonly FileBlock[] = []): Promise<SendOutcome> {
    return this.busy(async () => {
      try {
        await this.openStream();
        const eventId = await this.sendUserMessage(text, files);
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
        return { ok: true, eventId } as const;
      } catch (error) {
        const problem = describeApiError(error, 'sending the message to the agent');
        this.log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'could not send user.message');
        return { ok: false, problem } as const;
      }
    });
  }

  /** After a restart: reopen the stream and catch up; says whether the first prompt never went out. */
  resume(): Promise<ResumeOutcome> {
    return this.busy(async (): Promise<ResumeOutcome> => {
      try {
        await this.delivery.adoptPosted();
        await this.openStream();
        // A turn that ended while the bot was down still shares its files (files, issue 4).
        if (!this.state.turnOpen && this.state.turn > 0) this.track(this.shareOutputs());
        const neverSent = this.state.processedUserMessages.length === 0 && this.state.queuedUserMessages.length === 0;
        return this.record.status === 'starting' && neverSent ? 'prompt_unsent' : 'caught_up';
      } catch (error) {
        const problem = describeApiError(error, 'reconnecting to the session');
        this.log.error({ err: error, requestId: problem.requestId }, 'could not resume session');
        await this.fail(problem.words);
        return 'failed';
      }
    });
  }

  interrupt(user: string): Promise<InterruptOutcome> {
    if (this.record.status !== 'active' && this.record.status !== 'starting') return Promise.resolve('nothing_running');
    return this.busy(async (): Promise<InterruptOutcome> => {
      try {
        await this.openStream();
        if (!isLive(this.state) || this.state.phase === 'starting') return 'nothing_running';
        if (this.state.interruptId !== undefined) return 'already_stopping';
        const id = await this.sendInterrupt();
        // Before any await: the echo and the idle may already be folded; fold ignores a late note.
        this.apply([{ type: 'local.interrupt_sent', id }]);
        await this.updateRecord((r) => {
          r.interrupts[id] = user;
        });
        this.delivery.request();
        this.log.info({ user, interruptId: id }, 'interrupt sent');
        return 'sent';
      } catch (error) {
        const problem = describeApiError(error, 'stopping the agent');
        this.log.error({ err: error, requestId: problem.requestId }, 'could not send user.interrupt');
        return { problem };
      }
    });
  }

  /**
   * A person's Approve/Deny for a tool call. The decision is recorded before it is
   * sent, so a restart in between sends it then (and the card already shows it).
   */
  decide(eventId: string, decision: { user: string; result: 'allow' | 'deny'; reason?: string }): Promise<DecideOutcome> {
    return this.busy(async (): Promise<DecideOutcome> => {
      try {
        await this.openStream();
      } catch (error) {
        return { problem: describeApiError(error, 'reading the session') };
      }
      const pending = pendingApprovals(this.state).some((a) => a.id === eventId);
      if (!pending || this.record.decisions[eventId]) return 'not_pending';
      // Two clicks at once: the record (under its lock) keeps the first; the second is told so.
      let first = false;
      await this.updateRecord((r) => {
        if (r.decisions[eventId]) return;
        first = true;
        r.decisions[eventId] = { user: decision.user, result: decision.result, ...(decision.reason ? { reason: decision.reason } : {}), at: Date.now() };
      });
      if (!first) return 'not_pending';
      this.delivery.request();
      this.log.info({ toolUseId: eventId, user: decision.user, result: decision.result }, 'tool call decided');
      const problem = await this.sendDecision(eventId);
      return problem ? { problem } : 'sent';
    });
  }

  /** The oldest question still open (history loaded first), if any: replies answer it rather than steer. */
  openQuestion(): Promise<string | undefined> {
    return this.busy(async () => {
      await this.openStream();
      return openQuestions(this.state).find((q) => !this.record.answers[q.id])?.id;
    });
  }

  answer(eventId: string, said: QuestionAnswer & { choice?: number }): Promise<AnswerOutcome> {
    return this.busy(async () => {
      await this.openStream();
      const question = openQuestions(this.state).find((q) => q.id === eventId);
      if (!question || this.record.answers[eventId]) return 'not_open';
      // A button's label may be cut to fit Slack: the agent gets the whole choice it offered.
      const { choice, ...given } = said;
      const from: QuestionAnswer = { ...given, text: (choice !== undefined ? question.choices[choice] : undefined) ?? given.text };
      let first = false;
      await this.updateRecord((r) => {
        if (r.answers[eventId]) return;
        first = true;
        r.answers[eventId] = { user: from.user, text: from.text, at: Date.now(), ...(from.attachments ? { attachments: from.attachments } : {}) };
      });
      if (!first) return 'not_open';
      this.delivery.request();
      this.log.info({ toolUseId: eventId, user: from.user }, 'question answered');
      this.answerWaiters.get(eventId)?.(from);
      return 'answered';
    });
  }

  /** A problem the bridge hit: said in the thread and on the status line. */
  async fail(words: string): Promise<void> {
    await this.note(words);
    await this.updateRecord((r) => {
      r.failure = words;
      r.status = 'failed';
    });
    this.delivery.request();
  }

  /** A line in the thread from the bridge itself (not the agent). */
  async note(words: string): Promise<void> {
    await this.updateRecord((r) => {
      r.notices.push({ key: `n${r.notices.length}`, text: words, afterItems: this.state.items.length });
    });
    this.delivery.request();
  }

  private openStream(): Promise<void> {
    if (this.following) return this.following.ready;
    const abort = new AbortController();
    let markReady!: () => void;
    let failReady!: (e: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    const done = this.events
      .follow({
        ...(this.historyLoaded ? { since: this.state.lastProcessedAt } : {}),
        onReady: () => {
          this.historyLoaded = true;
          markReady();
        },
        onEvents: (events) => this.onEvents(events),
        signal: abort.signal,
        resumeFrom: () => this.state.lastProcessedAt,
      })
      .catch((error: unknown) => {
        failReady(error);
        if (!this.lifetime.signal.aborted) this.onStreamFailure(error);
      })
      .finally(() => {
        if (this.following?.abort === abort) this.following = undefined;
        this.follows.delete(done);
        this.reportIfQuiet();
        failReady(new Error('stream closed before it was ready'));
      });
    this.follows.add(done);
    this.following = { done, ready, abort };
    return ready;
  }

  private onStreamFailure(error: unknown): void {
    const problem = describeApiError(error, 'following the session');
    this.log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'event stream failed for good');
    this.track(this.fail(problem.words));
  }

  private onEvents(events: AgentEvent[]): BatchVerdict {
    for (const e of events) {
      if (e.type === 'user.message' && !e.processed_at) this.queuedTexts.set(e.id, textOf(e.content));
      if (e.type === 'user.interrupt' && e.id) this.seenInterrupts.add(e.id);
    }
    this.apply(events);
    if (this.wantsStream()) return 'continue';
    // Forget this stream now, not when its loop has wound down: a send arriving in
    // between must open a fresh stream rather than trust one that is closing.
    this.following = undefined;
    return 'stop';
  }

  private stopFollowing(): void {
    const current = this.following;
    this.following = undefined;
    current?.abort.abort();
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
    if (this.followUntil?.includes(this.state.phase)) this.followUntil = undefined;
    this.delivery.request();
    this.answerCustomTools();
    this.sendRecordedDecisions();
    if (before !== this.state.phase) this.track(this.persistStatus());
    if (turnWasOpen && !this.state.turnOpen) {
      this.track(this.markTurnDone());
      this.track(this.shareOutputs());
    }
  }

  /** After the turn's words are out, the files it wrote follow (files, issue 4). */
  private async shareOutputs(): Promise<void> {
    const usedTools = this.state.items.some((i) => i.kind === 'tools' && i.turn === this.state.turn);
    await this.delivery.settled();
    await this.outputs.deliver(usedTools);
  }

  /** A ✅ on the human message that started the turn: its author sees the answer is complete. */
  private async markTurnDone(): Promise<void> {
    const ts = this.state.turnStartedBy ? this.record.sentMessages[this.state.turnStartedBy]?.ts : undefined;
    if (!ts) return;
    const name = this.state.outcome === 'done' ? 'white_check_mark' : this.state.outcome === 'stopped' ? 'octagonal_sign' : 'warning';
    await this.deps.writer.call('reactions.add', { channel: this.record.channel, timestamp: ts, name }, 'status').catch((error: unknown) => {
      if (!(error instanceof SlackCallError && error.slackError === 'already_reacted')) throw error;
    });
  }

  private async persistStatus(): Promise<void> {
    const phase = this.state.phase;
    const status: ThreadRecord['status'] = phase === 'terminated' ? 'ended' : phase === 'idle' ? 'idle' : 'active';
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
    return (
      this.holds > 0 ||
      this.followUntil !== undefined ||
      this.state.phase === 'running' ||
      this.state.phase === 'waiting' ||
      this.state.queuedUserMessages.length > 0 ||
      this.state.pendingCustomTools.length > 0
    );
  }

  /** No stream, no caller inside, no tool or write in flight: the state can be rebuilt from history. */
  get quiet(): boolean {
    return this.following === undefined && this.follows.size === 0 && this.holds === 0 && this.background.size === 0 && this.toolsInFlight.size === 0 && this.delivery.idle;
  }

  private reportIfQuiet(): void {
    if (this.quiet && !this.lifetime.signal.aborted) this.onQuiet(this);
  }

  private closeStreamIfQuiet(): void {
    if (!this.wantsStream()) this.stopFollowing();
  }

  private answerCustomTools(): void {
    for (const call of this.state.pendingCustomTools) {
      if (this.toolsInFlight.has(call.eventId) || this.answeredTools.has(call.eventId)) continue;
      this.toolsInFlight.add(call.eventId);
      this.toolRuns.add(this.answerCustomTool(call.eventId, call.name, call.input).finally(() => this.toolsInFlight.delete(call.eventId)));
    }
  }

  private async answerCustomTool(eventId: string, name: string, input: unknown): Promise<void> {
    const result = await this.deps.tools.run(
      name,
      input,
      {
        ref: this.ref,
        threadTs: this.record.threadTs,
        slack: this.deps.writer,
        botUserId: this.deps.botUserId,
        signal: this.lifetime.signal,
        awaitAnswer: () => this.awaitAnswer(eventId),
      },
      this.log.child({ tool: name, toolUseId: eventId }),
    );
    // Shutting down is not the tool's failure: the next start runs it again.
    if (this.lifetime.signal.aborted) return;
    const sent = await this.sendAnswer('user.custom_tool_result', eventId, {
      type: 'user.custom_tool_result',
      custom_tool_use_id: eventId,
      content: result.content,
      is_error: result.is_error,
    });
    if (typeof sent === 'object') {
      const problem = describeApiError(sent.error, `answering the ${name} tool`);
      this.log.error({ err: sent.error, requestId: problem.requestId }, 'could not send custom tool result');
      return void (await this.note(problem.words));
    }
    this.answeredTools.add(eventId);
    if (sent === 'found') this.log.warn({ toolUseId: eventId }, 'custom tool was already answered');
    else this.log.info({ tool: name, toolUseId: eventId, isError: result.is_error }, 'custom tool answered');
  }

  /** Whether the history already holds our answer to a tool call (a retried send that had landed). */
  private async alreadyAnswered(kind: 'user.custom_tool_result' | 'user.tool_confirmation', eventId: string): Promise<boolean> {
    for await (const event of this.deps.client.beta.sessions.events.list(this.sessionId, { types: [kind], limit: 1000 })) {
      if (event.type === 'user.custom_tool_result' && event.custom_tool_use_id === eventId) return true;
      if (event.type === 'user.tool_confirmation' && event.tool_use_id === eventId) return true;
    }
    return false;
  }

  /** The answer recorded for a question, or the first one given from now on (bounded by the question timeout). */
  private awaitAnswer(eventId: string): Promise<QuestionAnswer> {
    const known = this.record.answers[eventId];
    if (known) return Promise.resolve({ user: known.user, text: known.text, ...(known.attachments ? { attachments: known.attachments } : {}) });
    const timeoutMs = this.deps.questionTimeoutMs ?? 24 * 60 * 60 * 1000;
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.lifetime.signal.removeEventListener('abort', onAbort);
        this.answerWaiters.delete(eventId);
      };
      const onAbort = () => {
        finish();
        reject(new Error('the bot is shutting down'));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`nobody answered within ${describeDuration(timeoutMs)}; continue without the answer or ask again later`));
      }, timeoutMs);
      this.lifetime.signal.addEventListener('abort', onAbort, { once: true });
      this.answerWaiters.set(eventId, (answer) => {
        finish();
        resolve(answer);
      });
    });
  }

  /** Decisions recorded but not yet taken by the API (a restart in between, or a failed send). */
  private sendRecordedDecisions(): void {
    for (const approval of pendingApprovals(this.state)) {
      if (!this.record.decisions[approval.id] || this.decisionsInFlight.has(approval.id) || this.decisionsSent.has(approval.id)) continue;
      this.track(this.sendDecision(approval.id));
    }
  }

  /** Sends one recorded decision; returns the problem when the API did not take it. */
  private async sendDecision(eventId: string): Promise<ApiProblem | undefined> {
    const decision = this.record.decisions[eventId];
    if (!decision || this.decisionsInFlight.has(eventId) || this.decisionsSent.has(eventId)) return undefined;
    this.decisionsInFlight.add(eventId);
    try {
      const sent = await this.sendAnswer(
        'user.tool_confirmation',
        eventId,
        decision.result === 'allow'
          ? { type: 'user.tool_confirmation', tool_use_id: eventId, result: 'allow' }
          : { type: 'user.tool_confirmation', tool_use_id: eventId, result: 'deny', ...(decision.reason ? { deny_message: decision.reason } : {}) },
      );
      if (typeof sent !== 'object') {
        this.decisionsSent.add(eventId);
        return undefined;
      }
      const problem = describeApiError(sent.error, 'sending the decision to the agent');
      this.log.error({ err: sent.error, toolUseId: eventId, requestId: problem.requestId }, 'could not send tool confirmation');
      // Forget the decision so the buttons come back and someone can try again.
      await this.updateRecord((r) => {
        delete r.decisions[eventId];
      });
      this.delivery.request();
      return problem;
    } finally {
      this.decisionsInFlight.delete(eventId);
    }
  }

  /**
   * One user.interrupt. A send whose outcome is unknown is looked for among the
   * interrupts the fold has not seen before it (on the stream, then in the history):
   * an interrupt sent twice would also cut the next turn short.
   */
  private async sendInterrupt(): Promise<string> {
    const known = new Set(this.seenInterrupts);
    const fresh = (id: string) => id !== '' && !known.has(id) && !this.record.interrupts[id];
    const outcome = await sendOnce({
      attempt: async () => {
        const sent = await this.deps.client.beta.sessions.events.send(this.sessionId, { events: [{ type: 'user.interrupt' }] }, { maxRetries: 0 });
        return sent.data?.[0]?.id || `local-${Date.now()}`;
      },
      lookup: async () => {
        for (const id of this.seenInterrupts) if (fresh(id)) return id;
        const page = await this.deps.client.beta.sessions.events.list(this.sessionId, { order: 'desc', limit: 50, types: ['user.interrupt'] }, { maxRetries: 0 });
        return page.data.find((e) => fresh(e.id))?.id;
      },
      signal: this.lifetime.signal,
    });
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'found') this.log.warn({ interruptId: outcome.value }, 'interrupt had landed despite the error; not sent again');
    return outcome.value;
  }

  /** A custom tool result or a tool confirmation, once: after an unknown outcome the history says whether it landed. */
  private async sendAnswer(kind: 'user.custom_tool_result' | 'user.tool_confirmation', eventId: string, event: Parameters<AgentsClient['beta']['sessions']['events']['send']>[1]['events'][number]): Promise<'sent' | 'found' | { error: unknown }> {
    const outcome = await sendOnce({
      attempt: () => this.deps.client.beta.sessions.events.send(this.sessionId, { events: [event] }, { maxRetries: 0 }).then(() => true as const),
      lookup: async () => ((await this.alreadyAnswered(kind, eventId)) ? (true as const) : undefined),
      signal: this.lifetime.signal,
    });
    if (outcome.kind !== 'failed') return outcome.kind;
    // 400 here means the call was answered already (another replica, or an earlier run of this one).
    if (isStatus(outcome.error, 400) && (await this.alreadyAnswered(kind, eventId).catch(() => false))) return 'found';
    return { error: outcome.error };
  }

  /**
   * The SDK would retry a 5xx by itself and could post the message twice. Sends go
   * out once; after an unknown outcome the history is checked before trying again.
   */
  private async sendUserMessage(text: string, files: readonly FileBlock[]): Promise<string> {
    const known = new Set([...this.state.processedUserMessages, ...this.state.queuedUserMessages, ...Object.keys(this.record.sentMessages)]);
    const outcome = await sendOnce({
      attempt: async () => {
        const sent = await this.deps.client.beta.sessions.events.send(
          this.sessionId,
          { events: [{ type: 'user.message', content: [{ type: 'text', text }, ...files] }] },
          { maxRetries: 0 },
        );
        const id = sent.data?.[0]?.id;
        if (!id) throw new Error('the API accepted the message but returned no event id');
        return id;
      },
      lookup: () => this.findSentMessage(text, known),
      signal: this.lifetime.signal,
    });
    if (outcome.kind === 'failed') throw outcome.error;
    return outcome.value;
  }

  private async findSentMessage(text: string, known: Set<string>): Promise<string | undefined> {
    // Mid-run the message is queued: the stream has shown it, the events list has not yet.
    for (const [id, queued] of this.queuedTexts) if (!known.has(id) && queued === text) return id;
    const page = await this.deps.client.beta.sessions.events.list(this.sessionId, { order: 'desc', limit: 50, types: ['user.message'] }, { maxRetries: 0 });
    for (const event of page.data) {
      if (event.type !== 'user.message' || known.has(event.id)) continue;
      if (textOf(event.content as Array<{ type: string; text?: unknown }>) === text) return event.id;
    }
    return undefined;
  }

  /** Writes what a person did into the record and shows it (spend-cap actions). */
  async amend(change: (r: ThreadRecord) => void): Promise<ThreadRecord> {
    await this.updateRecord(change);
    this.delivery.request();
    return this.record;
  }

  /** The stop at the spend cap waiting for a person, with the spend so far in cents (history loaded first). */
  pausedAtBudget(): Promise<{ id: string; spentCents: number } | undefined> {
    return this.busy(async () => {
      await this.openStream();
      const stop = this.state.items.findLast((i) => i.kind === 'budget');
      if (!stop || this.state.phase !== 'idle' || this.state.outcome !== 'budget') return undefined;
      const spent = Number(this.state.usage.cost?.amount ?? 0);
      return { id: stop.id, spentCents: Number.isFinite(spent) ? spent : 0 };
    });
  }

  /**
   * The session will move by itself (a raised cap resumes it, an archive ends it): follow
   * its stream until it reaches one of `phases`, so the thread shows what happens next.
   */
  followUntilPhase(phases: ReadonlyArray<ThreadState['phase']> | undefined): void {
    this.followUntil = phases;
    if (phases) void this.openStream().catch(() => undefined);
    else this.closeStreamIfQuiet();
  }

  private view(): ThreadView {
    const record = this.record;
    const stoppedByUser = this.state.stoppedBy ? record.interrupts[this.state.stoppedBy] : undefined;
    const rootTs = record.rootTs;
    return {
      threadTs: record.threadTs,
      blocks: renderThread(this.state, record.notices, {
        owner: record.owner,
        decisions: record.decisions,
        answers: record.answers,
        budgetActions: record.budgetActions,
        spendCap: record.spendCap,
      }),
      settled: !isLive(this.state) || record.failure !== undefined,
      recipient: { user: record.owner, team: record.team },
      ...(rootTs
        ? {
            root: {
              ts: rootTs,
              body: renderRootCard({
                owner: record.owner,
                prompt: record.prompt,
                profile: record.profile,
                state: this.state,
                ...(stoppedByUser ? { stoppedByUser } : {}),
                ...(record.failure ? { failure: record.failure } : {}),
              }),
            },
          }
        : {}),
    };
  }

  private async updateRecord(change: (r: ThreadRecord) => void): Promise<void> {
    const written = await this.deps.records.update(this.ref, change);
    this.record = { ...written, sessionId: this.record.sessionId };
  }

  private track(promise: Promise<unknown>): void {
    this.background.add(promise);
  }
}

function describeDuration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}
