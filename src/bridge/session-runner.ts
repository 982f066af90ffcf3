import type { AgentEvent } from '../agents/events.js';
import { delay } from '../ops/delay.js';
import type { Logger } from '../ops/logger.js';
import { TaskSet } from '../ops/task-set.js';
import type { ThreadRecord, ThreadRef } from '../store/thread-records.js';
import type { FileBlock } from './file-intake.js';
import { assembleParts, type RunnerParts } from './runner/assembly.js';
import type { AnswerOutcome, Decision, DecideOutcome, QuestionAnswer } from './runner/decisions-desk.js';
import type { RunnerDeps } from './runner/runner-deps.js';
import type { InterruptOutcome, ResumeOutcome, SendOutcome, SentBy } from './runner/session-intents.js';
import { sessionPorts } from './runner/session-ports.js';
import type { CapOutcome, CapSeen } from './runner/spend-cap-desk.js';
import { foldInPlace, initialState, type LocalEvent, type ThreadState } from './thread-state.js';

/**
 * One thread ⇄ one session. The runner follows the fold: the stream brings the session's
 * events, every batch is folded into the thread state, and each part acts on what the fold
 * shows (the tool desk answers custom tools, the decisions desk sends recorded decisions,
 * turn ends write the status and share files); delivery renders the view into Slack.
 * People's intents (send, interrupt, decide, answer, raise the cap) go to the session
 * intents, each holding the stream open. Which part answers which is wired in
 * `runner/assembly.ts`, over the ports of `runner/session-ports.ts`.
 */
export class SessionRunner {
  private state: ThreadState = initialState();
  private readonly log: Logger;
  /** Aborted on close: waits, sends and tool runs give up, and a failing stream is not a failure. */
  private readonly lifetime = new AbortController();
  /** Status writes, receipts, output sharing and resent decisions: waited for by settled() and close(). */
  private readonly background: TaskSet;
  private readonly parts: RunnerParts;
  private readonly observe: (record: ThreadRecord, state: ThreadState) => void;

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
    this.background = new TaskSet(this.log, () => this.reportIfQuiet());
    const ports = sessionPorts(record, deps, this.log, this.lifetime.signal);
    this.observe = ports.observe;
    this.parts = assembleParts(record, ports, {
      state: () => this.state,
      fold: (events) => this.apply(events),
      track: (work) => this.background.add(work),
      mayBeQuiet: () => this.reportIfQuiet(),
      log: this.log,
      signal: this.lifetime.signal,
    });
  }

  get ref(): ThreadRef {
    return this.parts.record.ref;
  }

  get sessionId(): string {
    return this.parts.record.current().sessionId;
  }

  /** The thread's recorded status (starting, active, idle, failed, …), for the sessions metric. */
  get status(): ThreadRecord['status'] {
    return this.parts.record.current().status;
  }

  /** For tests and shutdown: resolves once pending Slack writes are done. */
  async settled(): Promise<void> {
    // Delivery going idle can start background work (status writes) and vice versa.
    do {
      await this.background.settled();
      await this.parts.delivery.settled();
    } while (this.background.size > 0);
  }

  /**
   * `grace: false` when the thread's lease is lost: its writes are already refused, and
   * nothing is waited for (another replica is the thread's writer now).
   */
  async close(o: { grace: boolean } = { grace: true }): Promise<void> {
    const { stream, tools, delivery } = this.parts;
    this.lifetime.abort(new Error('runner closed'));
    stream.stop();
    if (!o.grace) {
      delivery.close();
      await stream.wound();
      return;
    }
    await stream.wound();
    // Let what is already folded reach Slack, but do not hold shutdown hostage to an
    // outage or to a long rate-limit queue: whatever still waits is abandoned (and
    // redone from the record and history by the next start).
    const grace = delay(this.deps.closeGraceMs ?? 10_000).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.background.current(), ...tools.current(), delivery.settled()]), grace]);
    delivery.close();
  }

  /** The root card was posted a moment ago (a new session): no need to edit it at once. */
  rootJustPosted(): void {
    this.parts.delivery.deferStatus();
  }

  /** Keeps the runner (and its stream) held while a multi-step intent runs. */
  busy<T>(work: () => Promise<T>): Promise<T> {
    return this.parts.hold.busy(work);
  }

  /** A human message for the agent: the first prompt, a steer mid-run, or the next turn. `files`: image/document blocks after the text. */
  sendMessage(text: string, from: SentBy, files: readonly FileBlock[] = []): Promise<SendOutcome> {
    return this.parts.intents.sendMessage(text, from, files);
  }

  /** After a restart: reopen the stream and catch up; says whether the first prompt never went out. */
  resume(): Promise<ResumeOutcome> {
    return this.parts.intents.resume();
  }

  interrupt(user: string, mayHaveLanded = false): Promise<InterruptOutcome> {
    return this.parts.intents.interrupt(user, mayHaveLanded);
  }

  /** A person's Approve/Deny for a tool call (recorded before it is sent). */
  decide(eventId: string, decision: Decision): Promise<DecideOutcome> {
    return this.parts.intents.decide(eventId, decision);
  }

  /** The oldest question still open (history loaded first), if any: replies answer it rather than steer. */
  openQuestion(): Promise<string | undefined> {
    return this.parts.intents.openQuestion();
  }

  answer(eventId: string, said: QuestionAnswer & { choice?: number }): Promise<AnswerOutcome> {
    return this.parts.intents.answer(eventId, said);
  }

  /** Raise the cap on a session stopped at it (`seen`: the record as the caller just read it). */
  raiseCap(stopId: string, user: string, seen: CapSeen): Promise<CapOutcome> {
    return this.parts.intents.raiseCap(stopId, user, seen);
  }

  /** End a session stopped at its spend cap. */
  endAtCap(stopId: string, user: string, seen: Pick<ThreadRecord, 'budgetActions'>): Promise<CapOutcome> {
    return this.parts.intents.endAtCap(stopId, user, seen);
  }

  /** A problem the bridge hit: said in the thread and on the status line. */
  fail(words: string): Promise<void> {
    return this.parts.record.fail(words);
  }

  /** A line in the thread from the bridge itself (not the agent). */
  note(words: string): Promise<void> {
    return this.parts.record.note(words);
  }

  /** No stream, no caller inside, no tool or write in flight: the state can be rebuilt from history. */
  get quiet(): boolean {
    const { stream, hold, tools, delivery } = this.parts;
    return stream.closed && !hold.held && this.background.size === 0 && !tools.busy && delivery.idle;
  }

  /** Folds a batch, then lets each part act on what the fold shows. */
  private apply(events: Array<AgentEvent | LocalEvent>): void {
    const before = { phase: this.state.phase, turnOpen: this.state.turnOpen };
    for (const event of events) {
      const { state, ignored } = foldInPlace(this.state, event);
      this.state = state;
      if (ignored) this.log.warn({ eventType: ignored.type, problem: ignored.problem }, 'ignored an agent event');
    }
    if (events.length === 0) return;
    const { record, hold, delivery, tools, decisions, turnEnds } = this.parts;
    this.observe(record.current(), this.state);
    hold.reached(this.state.phase);
    delivery.request();
    tools.answer(this.state.pendingCustomTools);
    decisions.sendRecorded();
    turnEnds.afterFold(before);
  }

  private reportIfQuiet(): void {
    if (this.quiet && !this.lifetime.signal.aborted) this.onQuiet(this);
  }
}
