import { randomUUID } from 'node:crypto';
import { delay } from '../ops/delay.js';
import type { Again, RelayedIntent, RelayOutcome, Served } from '../replicas/relay.js';
import { refOfThreadKey, startTakeovers, type Takeovers } from '../replicas/takeovers.js';
import { threadKey, type PendingStart, type ThreadRef } from '../store/thread-records.js';
import { replyWords } from '../words/replies.js';
import type { BridgeDeps } from './bridge-deps.js';
import { Intents } from './intents.js';
import { unreachable } from '../ops/unreachable.js';
import type {
  CapOutcome,
  DecisionOutcome,
  InterruptIntentOutcome,
  MayDecideOutcome,
  NotAllowed,
  QuestionOutcome,
  Queued,
  StartOutcome,
  StartRequest,
  SteerMessage,
  SteerOutcome,
  StoredStart,
} from './outcomes.js';
import { type AdmitStored, Resume } from './resume.js';
import { Receipts } from './runner/receipts.js';
import { Runners } from './runners.js';
import { SessionSetup } from './session-setup.js';
import { Starting } from './starting.js';
import { Starts, startOfReply } from './starts.js';
import { ThreadQueues } from './thread-queues.js';

export type { BridgeDeps } from './bridge-deps.js';
export type {
  CapOutcome,
  DecisionOutcome,
  InterruptIntentOutcome,
  MayDecideOutcome,
  NotAllowed,
  QuestionOutcome,
  Queued,
  ShuttingDown,
  StartOutcome,
  StartProblem,
  StartRequest,
  SteerMessage,
  SteerOutcome,
  StoredStart,
} from './outcomes.js';
export type { AdmitStored } from './resume.js';

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
  private takeovers: Takeovers | undefined;
  /** When the held threads' stored lists were last looked at by the takeovers' pass. */
  private heldDrainedAt = 0;

  constructor(private readonly deps: BridgeDeps) {
    /** A thread's messages reach its session one at a time, in the order they came. */
    const queues = new ThreadQueues();
    const receipts = new Receipts(deps.react, deps.log);
    this.runners = new Runners(deps, deps.replicas?.leases);
    this.setup = new SessionSetup(deps);
    const parts = { ...deps, runners: this.runners, starting: this.starting, queues, receipts, setup: this.setup };
    this.intents = new Intents(parts);
    this.starts = new Starts({ ...parts, steerNow: (ref, msg) => this.intents.steerNow(ref, msg) });
    this.resume = new Resume({ ...parts, starts: this.starts });
  }

  /**
   * A start request written to the store before Slack is answered (`/agent` acks only
   * once this is done): a kill after the ack finds it at the next start-up, which checks
   * and starts it (`admitStoredStartsWith`). Answer it with `start(req, stored)` and, from
   * the guard, `settleStored` once its outcome is known.
   */
  async storeStart(req: StartRequest): Promise<StoredStart> {
    const by = this.deps.replicas ? { by: this.deps.replicas.leases.holder } : {};
    const start: PendingStart = { id: randomUUID(), at: Date.now(), request: { ...req }, unchecked: true, ...by };
    this.resume.live.add(start.id);
    try {
      await this.deps.records.addPendingStart(start);
    } catch (error) {
      this.resume.live.delete(start.id);
      throw error;
    }
    return { start, resumed: false };
  }

  /**
   * A stored start's outcome is known: its record goes (a start that began has removed it
   * already, the second removal changes nothing), unless it is carried over to the next
   * start-up (`start_carried_over`) or its outcome is unknown (`undefined`: it threw), when
   * the next start-up finishes it.
   */
  async settleStored(stored: StoredStart, outcome: StartOutcome | NotAllowed | undefined): Promise<void> {
    if (outcome && !(outcome.kind === 'not_started' && outcome.problem.kind === 'start_carried_over')) return this.dropStored(stored);
    this.resume.live.delete(stored.start.id);
  }

  /** A stored start that is not to be made (its person was told it was not taken): its record goes. */
  async dropStored(stored: StoredStart): Promise<void> {
    try {
      await this.deps.records.removePendingStart(stored.start.id);
    } finally {
      this.resume.live.delete(stored.start.id);
    }
  }

  /** How starts stored before their access check are checked, started and answered after a restart (the guard's). */
  admitStoredStartsWith(admit: AdmitStored): void {
    this.resume.admit = admit;
  }

  async start(req: StartRequest, stored?: StoredStart): Promise<StartOutcome> {
    if (!req.threadTs || !this.deps.replicas) return this.starts.start(req, stored);
    const ref: ThreadRef = { team: req.team, channel: req.channel, threadTs: req.threadTs };
    const asReply = async (): Promise<StartOutcome> => {
      const files = req.files ? { files: req.files } : {};
      const outcome = await this.steer(ref, { user: req.user, text: req.prompt, ts: req.promptTs ?? req.threadTs!, ...files });
      return startOfReply(ref, outcome);
    };
    // A mention in a thread another replica may follow is a reply to its session, relayed there.
    if (await this.intents.isSessionThread(ref)) return asReply();
    // The thread's lease is taken before its root card is posted: a reply (or a second
    // mention) reaching another replica meanwhile is relayed here and waits for the start.
    const started = await this.runners.using(ref, async () =>
      (await this.runners.claim(ref)).kind === 'mine'
        ? { kind: 'here' as const, outcome: await this.starts.start(req, stored) }
        : { kind: 'elsewhere' as const },
    );
    return started.kind === 'here' ? started.outcome : asReply();
  }

  /** On start-up, after resumeActive: starts whose root card was being posted when the process stopped. */
  resumePendingStarts(): Promise<number> {
    return this.resume.pendingStarts();
  }

  /** On start-up: every thread that was mid-turn is reopened and caught up. */
  async resumeActive(): Promise<number> {
    const resumed = await this.resume.active();
    // Several replicas: what was relayed to the process before this one and never carried out goes now, once caught up.
    if (this.deps.replicas) for (const ref of await this.deps.records.activeRefs()) await this.takeStored(ref);
    return resumed;
  }

  /** `again`: a reply taken before a kill and never known to be handed on, so it may have reached the session. */
  async steer(ref: ThreadRef, msg: SteerMessage, again = false): Promise<SteerOutcome> {
    // Handed on and recorded before the kill: not a second time, wherever the thread is followed now.
    if (again && Object.values((await this.deps.records.get(ref))?.sentMessages ?? {}).some((m) => m.ts === msg.ts)) return { kind: 'sent' };
    const files = msg.files ? { files: [...msg.files] } : {};
    return this.routed<SteerOutcome>(
      ref,
      { kind: 'steer', ref, msg: { user: msg.user, text: msg.text, ts: msg.ts, ...files } },
      // The same look-ups as a relayed reply that a stopped replica may have sent (mayHaveLanded).
      () => this.intents.steer(ref, msg, again ? { again: 'sending', sending: async () => undefined } : undefined),
      { kind: 'failed' },
    );
  }

  /** Approve or deny a tool call: only the owner and the profile's approvers may. */
  decide(ref: ThreadRef, eventId: string, decision: { user: string; result: 'allow' | 'deny'; reason?: string }): Promise<DecisionOutcome> {
    return this.routed<DecisionOutcome>(ref, { kind: 'decide', ref, eventId, decision }, () => this.intents.decide(ref, eventId, decision), {
      kind: 'failed',
      problem: { words: replyWords({ kind: 'replica_unanswered' }), transient: true },
    });
  }

  /** Whether a person may decide in this thread, asked before a Deny opens its reason dialog. */
  mayDecideIn(ref: ThreadRef, user: string): Promise<MayDecideOutcome> {
    return this.intents.mayDecideIn(ref, user);
  }

  /** Whether the agent waits on an ask_user question in this thread (a reply would answer it). */
  hasOpenQuestion(ref: ThreadRef): Promise<boolean> {
    return this.routed<boolean>(ref, { kind: 'has_open_question', ref }, () => this.intents.hasOpenQuestion(ref), false, false);
  }

  /** A button answer to an ask_user question. */
  answer(ref: ThreadRef, eventId: string, from: { user: string; text: string; choice?: number }): Promise<QuestionOutcome> {
    // Unanswered, the question may still be open: the person sees it so and may press again.
    return this.routed<QuestionOutcome>(ref, { kind: 'answer', ref, eventId, from }, () => this.intents.answer(ref, eventId, from), {
      kind: 'not_open',
    });
  }

  interrupt(ref: ThreadRef, user: string): Promise<InterruptIntentOutcome> {
    return this.routed<InterruptIntentOutcome>(ref, { kind: 'interrupt', ref, user }, () => this.intents.interrupt(ref, user), {
      kind: 'failed',
      problem: { words: replyWords({ kind: 'replica_unanswered' }), transient: true },
    });
  }

  /** Raise the spend cap of a session stopped at it (the budget card's button). */
  raiseCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    return this.routed<CapOutcome>(ref, { kind: 'raise_cap', ref, stopId, user }, () => this.intents.raiseCap(ref, stopId, user), {
      kind: 'failed',
      words: replyWords({ kind: 'replica_unanswered' }),
    });
  }

  /** End a session stopped at its spend cap (the budget card's End): archived, so it runs no more. */
  endAtCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    return this.routed<CapOutcome>(ref, { kind: 'end_at_cap', ref, stopId, user }, () => this.intents.endAtCap(ref, stopId, user), {
      kind: 'failed',
      words: replyWords({ kind: 'replica_unanswered' }),
    });
  }

  /** A thread whose session exists or is being created (a failed start is not one: a mention may retry). */
  async isSessionThread(ref: ThreadRef): Promise<boolean> {
    if (await this.intents.isSessionThread(ref)) return true;
    // Several replicas: another one may be starting it (its lease is taken before its record is written).
    return this.deps.replicas ? (await this.deps.replicas.leases.holderOf(threadKey(ref))) !== null : false;
  }

  /** For tests and shutdown: every runner's Slack writes are done. */
  settled(): Promise<void> {
    return this.runners.settled();
  }

  /**
   * With several replicas: from now on, threads whose lease nobody renews are looked for
   * and taken over (after resumeActive, so start-up and takeovers do not overlap).
   */
  followLapsed(): void {
    const leases = this.deps.replicas?.leases;
    if (!leases || this.takeovers || this.runners.closed) return;
    this.takeovers = startTakeovers({
      leases,
      // Often enough that a thread handed over on shutdown waits about a second, not a lease time.
      everyMs: Math.max(1, Math.min(1000, Math.floor(leases.times.renewEveryMs / 2))),
      takeOver: async (ref) => {
        // Read before the claim moves its deadline.
        const how = await leases.howLapsed(threadKey(ref));
        const taken = await this.resume.thread(ref);
        if (taken) this.deps.handovers?.inc({ how });
        // Caught up first, so what the stopped replica left stored is carried out against the session as it is now.
        await this.takeStored(ref);
        return taken;
      },
      alsoEachPass: () => Promise.all([this.resume.pendingStarts(), this.drainHeldEvery(leases.times.renewEveryMs)]),
      log: this.deps.log.child({ component: 'takeovers' }),
    });
  }

  /**
   * Once every `everyMs` (a renewal interval): a wake-up is pub/sub, delivered at most once, so
   * one lost on the way (the subscriber's connection dropped and came back unnoticed) would
   * leave its stored intent waiting while this replica lives; this bounds that wait.
   */
  private async drainHeldEvery(everyMs: number): Promise<void> {
    const now = Date.now();
    if (now - this.heldDrainedAt < everyMs) return;
    this.heldDrainedAt = now;
    await this.drainHeld();
  }

  /**
   * The threads this replica holds whose stored list has intents nobody woke it for (the
   * wake-up was lost: the relay subscriber was disconnected when it was published): each
   * drained here, as a wake-up would have. After the subscriber reconnects, and periodically.
   */
  async drainHeld(): Promise<void> {
    const relay = this.deps.replicas?.relay;
    const leases = this.deps.replicas?.leases;
    if (!relay || !leases || this.runners.closed) return;
    const refs = leases.held().flatMap((key) => refOfThreadKey(key) ?? []);
    // Sent together, so the client pipelines them: one round trip for every held thread.
    const pending = await Promise.all(refs.map((ref) => relay.pending(ref).catch(() => false)));
    await Promise.all(
      refs
        .filter((_, i) => pending[i])
        .map((ref) =>
          this.runners.using(ref, async () => {
            if (!this.runners.closed && this.runners.holds(ref)) await this.drainStored(ref);
          }),
        ),
    );
  }

  /**
   * Woken for a stored intent of a thread: carried out here with the thread's other
   * stored intents when this replica follows it; otherwise the sender is told so (it
   * claims the thread again and wakes whoever follows it now).
   */
  async woken(ref: ThreadRef, from: string, id: string): Promise<void> {
    const relay = this.deps.replicas?.relay;
    if (!relay) return;
    await this.runners.using(ref, async () => {
      if (this.runners.closed || !this.runners.holds(ref)) return relay.notHolder(from, id);
      await this.drainStored(ref);
    });
  }

  /** A thread taken over: what its stored list still holds is carried out here, if this replica gets its lease. */
  private async takeStored(ref: ThreadRef): Promise<void> {
    const relay = this.deps.replicas?.relay;
    if (!relay || !(await relay.pending(ref))) return;
    await this.runners.using(ref, async () => {
      if ((await this.runners.claim(ref)).kind === 'mine') await this.drainStored(ref);
    });
  }

  /**
   * The thread's stored intents (relayed here, or left by a holder that stopped), carried
   * out in order while this replica follows the thread; the caller holds its lease.
   */
  private drainStored(ref: ThreadRef): Promise<void> {
    const relay = this.deps.replicas?.relay;
    if (!relay) return Promise.resolve();
    return relay.drain(
      ref,
      async (intent, again, sending): Promise<Served> =>
        this.runners.holds(intent.ref) ? { kind: 'served', outcome: await this.intentHere(intent, again, sending) } : { kind: 'not_holder' },
      () => !this.runners.closed && this.runners.holds(ref),
    );
  }

  /**
   * A stored intent, at the replica that follows its thread. `again`: a replica had taken
   * it and never acknowledged it, so it may have landed; each kind then looks before it
   * acts (a decision or an answer is recorded before it is sent, and the first recorded
   * wins; a reply already sent has its Slack message in the record or its text in the
   * session, and one whose replica had not begun sending it is sent; a Stop already sent is a
   * user.interrupt in the session that the record lacks).
   */
  private async intentHere(intent: RelayedIntent, taken: Again, sending: () => Promise<void>): Promise<unknown> {
    const { ref } = intent;
    const again = taken !== false;
    switch (intent.kind) {
      case 'steer':
        return this.intents.steer(ref, intent.msg, { again: taken, sending });
      case 'interrupt':
        return this.intents.interrupt(ref, intent.user, again);
      case 'decide': {
        const outcome = await this.intents.decide(ref, intent.eventId, intent.decision);
        // Recorded by the replica that took it: the runner sends a recorded decision as it catches up.
        return again && outcome.kind === 'not_pending' && (await this.recordedAs(ref, 'decisions', intent.eventId, intent.decision.user))
          ? { kind: 'sent' }
          : outcome;
      }
      case 'answer': {
        const outcome = await this.intents.answer(ref, intent.eventId, intent.from);
        return again && outcome.kind === 'not_open' && (await this.recordedAs(ref, 'answers', intent.eventId, intent.from.user))
          ? { kind: 'answered' }
          : outcome;
      }
      case 'has_open_question':
        return this.intents.hasOpenQuestion(ref);
      case 'raise_cap':
        return this.intents.raiseCap(ref, intent.stopId, intent.user);
      case 'end_at_cap':
        return this.intents.endAtCap(ref, intent.stopId, intent.user);
      default:
        return unreachable(intent);
    }
  }

  /** Whether the thread's record holds this person's decision or answer for the call `eventId`. */
  private async recordedAs(ref: ThreadRef, what: 'decisions' | 'answers', eventId: string, user: string): Promise<boolean> {
    return (await this.deps.records.get(ref))?.[what][eventId]?.user === user;
  }

  /**
   * An intent for a thread: carried out here when this replica follows the thread or
   * gets its lease now (after what is stored for the thread, which is older), else stored
   * with the thread and its holder woken for it; the holder, or whoever follows the
   * thread after it, carries it out once and answers with what it did. A holder that no
   * longer listens (it died) is waited out until its lease lapses, then the thread is
   * claimed here and what is stored carried out here. `queued`: the outcome when nobody
   * answered in time (it stays stored and is carried out by the thread's next holder);
   * `unanswered`: when carrying it out failed, so it may or may not have been done.
   */
  private async routed<T>(
    ref: ThreadRef,
    intent: RelayedIntent,
    here: () => Promise<T>,
    unanswered: T,
    queued: T | Queued = { kind: 'queued' },
  ): Promise<T> {
    const relay = this.deps.replicas?.relay;
    if (!relay) return here();
    let stored: string | undefined;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const claimed = await this.runners.using(ref, async () => {
        const claim = await this.runners.claim(ref);
        if (claim.kind !== 'mine') return claim;
        await this.drainStored(ref);
        // Stored already: the drain carried it out with the others, or left it for the next holder.
        return stored ? { kind: 'drained' as const } : { kind: 'done' as const, outcome: await here() };
      });
      if (claimed.kind === 'done') return claimed.outcome;
      const holder = claimed.kind === 'theirs' ? claimed.holder : undefined;
      let sent: RelayOutcome;
      if (stored && holder === undefined) sent = await relay.outcomeOf(stored);
      else {
        stored ??= await relay.store(intent);
        const answered = await relay.outcomeOf(stored);
        sent = answered.kind === 'queued' && holder !== undefined ? await relay.wake(holder, ref, stored) : answered;
      }
      switch (sent.kind) {
        case 'served':
          return sent.outcome as T;
        // The holder let the thread go (or is shutting down), or died: its lease goes soon.
        case 'not_holder':
        case 'unreachable':
          if (holder !== undefined) await this.lapseOf(ref, holder);
          continue;
        case 'queued':
          this.deps.log.warn(
            { thread: threadKey(ref), intent: intent.kind, holder },
            'a relayed intent is stored until the thread is followed again',
          );
          return queued as T;
        case 'failed':
          this.deps.log.warn({ thread: threadKey(ref), intent: intent.kind, holder }, 'a relayed intent could not be carried out');
          return unanswered;
        default:
          return unreachable(sent);
      }
    }
    return (stored ? queued : unanswered) as T;
  }

  /** Waits (at most about one lease time) until `holder` no longer holds the thread's lease. */
  private async lapseOf(ref: ThreadRef, holder: string): Promise<void> {
    const leases = this.deps.replicas?.leases;
    if (!leases) return;
    const step = Math.max(10, Math.floor(leases.times.renewEveryMs / 3));
    for (let waited = 0; waited <= leases.times.leaseMs + step; waited += step) {
      if ((await leases.holderOf(threadKey(ref))) !== holder) return;
      await delay(step);
    }
  }

  /** Shutdown; `handOver: false` leaves this replica's leases to lapse (what a crash leaves, for tests). */
  async close(o: { handOver: boolean } = { handOver: true }): Promise<void> {
    await this.takeovers?.close();
    const evictions = this.runners.stopMaking();
    this.setup.close();
    const grace = delay(this.deps.closeGraceMs ?? 10_000).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.starting.current(), ...evictions]), grace]);
    await this.runners.close(o);
  }

  /** Sessions held in memory, by thread status (the sessions metric). */
  sessionStates(): Record<string, number> {
    return this.runners.states();
  }

  /** Runners currently held in memory (live or settling threads). */
  get liveRunners(): number {
    return this.runners.size;
  }
}
