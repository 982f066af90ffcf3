import { delay } from '../ops/delay.js';
import type { ThreadRef } from '../store/thread-records.js';
import type { BridgeDeps } from './bridge-deps.js';
import { Intents } from './intents.js';
import type { CapOutcome, DecisionOutcome, QuestionOutcome, StartOutcome, StartRequest, SteerMessage, SteerOutcome } from './outcomes.js';
import { Resume } from './resume.js';
import { Receipts } from './runner/receipts.js';
import { Runners } from './runners.js';
import type { InterruptOutcome } from './session-runner.js';
import { SessionSetup } from './session-setup.js';
import { Starting } from './starting.js';
import { Starts } from './starts.js';
import { ThreadQueues } from './thread-queues.js';

export type { BridgeDeps } from './bridge-deps.js';
export type { CapOutcome, DecisionOutcome, NotAllowed, QuestionOutcome, StartOutcome, StartRequest, SteerMessage, SteerOutcome } from './outcomes.js';

/**
 * The intents Slack input turns into (start, steer, interrupt, decide, answer), in front
 * of the registry of live session runners. Slack handlers stay thin; everything stateful
 * is behind this facade, in parts: `starts` (a new session), `intents` (what people do in
 * a session thread), `resume` (what a restart left), `session-setup` (the session made
 * once), `runners` (one runner per thread) and `starting` (threads being created).
 */
export class Bridge {
  private readonly runners: Runners;
  private readonly starting = new Starting();
  private readonly setup: SessionSetup;
  private readonly starts: Starts;
  private readonly intents: Intents;
  private readonly resume: Resume;

  constructor(private readonly deps: BridgeDeps) {
    /** A thread's messages reach its session one at a time, in the order they came. */
    const queues = new ThreadQueues();
    const receipts = new Receipts(deps.react, deps.log);
    this.runners = new Runners(deps);
    this.setup = new SessionSetup(deps);
    const parts = { ...deps, runners: this.runners, starting: this.starting, queues, receipts, setup: this.setup };
    this.intents = new Intents(parts);
    this.starts = new Starts({ ...parts, steerNow: (ref, msg) => this.intents.steerNow(ref, msg) });
    this.resume = new Resume({ ...parts, starts: this.starts });
  }

  start(req: StartRequest): Promise<StartOutcome> {
    return this.starts.start(req);
  }

  /** On start-up, after resumeActive: starts whose root card was being posted when the process stopped. */
  resumePendingStarts(): Promise<number> {
    return this.resume.pendingStarts();
  }

  /** On start-up: every thread that was mid-turn is reopened and caught up. */
  resumeActive(): Promise<number> {
    return this.resume.active();
  }

  steer(ref: ThreadRef, msg: SteerMessage): Promise<SteerOutcome> {
    return this.intents.steer(ref, msg);
  }

  /** Approve or deny a tool call: only the owner and the profile's approvers may. */
  decide(ref: ThreadRef, eventId: string, decision: { user: string; result: 'allow' | 'deny'; reason?: string }): Promise<DecisionOutcome> {
    return this.intents.decide(ref, eventId, decision);
  }

  /** Whether a person may decide in this thread, asked before a Deny opens its reason dialog. */
  mayDecideIn(ref: ThreadRef, user: string): Promise<true | { notAllowed: string } | 'not_a_session'> {
    return this.intents.mayDecideIn(ref, user);
  }

  /** Whether the agent waits on an ask_user question in this thread (a reply would answer it). */
  hasOpenQuestion(ref: ThreadRef): Promise<boolean> {
    return this.intents.hasOpenQuestion(ref);
  }

  /** A button answer to an ask_user question. */
  answer(ref: ThreadRef, eventId: string, from: { user: string; text: string; choice?: number }): Promise<QuestionOutcome> {
    return this.intents.answer(ref, eventId, from);
  }

  interrupt(ref: ThreadRef, user: string): Promise<InterruptOutcome | { kind: 'not_a_session' }> {
    return this.intents.interrupt(ref, user);
  }

  /** Raise the spend cap of a session stopped at it (the budget card's button). */
  raiseCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    return this.intents.raiseCap(ref, stopId, user);
  }

  /** End a session stopped at its spend cap (the budget card's End): archived, so it runs no more. */
  endAtCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    return this.intents.endAtCap(ref, stopId, user);
  }

  /** A thread whose session exists or is being created (a failed start is not one: a mention may retry). */
  isSessionThread(ref: ThreadRef): Promise<boolean> {
    return this.intents.isSessionThread(ref);
  }

  /** For tests and shutdown: every runner's Slack writes are done. */
  settled(): Promise<void> {
    return this.runners.settled();
  }

  async close(): Promise<void> {
    const evictions = this.runners.stopMaking();
    this.setup.close();
    const grace = delay(this.deps.closeGraceMs ?? 10_000).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.starting.current(), ...evictions]), grace]);
    await this.runners.close();
  }

  /** Runners currently held in memory (live or settling threads). */
  /** Sessions held in memory, by thread status (the sessions metric). */
  sessionStates(): Record<string, number> {
    return this.runners.states();
  }

  get liveRunners(): number {
    return this.runners.size;
  }
}
