import type { AgentProfiles } from '../agents/profiles.js';
import type {
  Bridge,
  CapOutcome,
  DecisionOutcome,
  InterruptIntentOutcome,
  MayDecideOutcome,
  NotAllowed,
  QuestionOutcome,
  StartOutcome,
  StartRequest,
  SteerMessage,
  SteerOutcome,
  StoredStart,
} from '../bridge/bridge.js';
import type { AuditAction, AuditEntry, AuditTrail } from '../ops/audit.js';
import type { Logger } from '../ops/logger.js';
import { unreachable } from '../ops/unreachable.js';
import type { RunningSession } from '../words/sessions.js';
import { startProblemWords } from '../words/starts.js';
import { KeyedMutex } from '../store/keyed-mutex.js';
import type { Mutex } from '../store/mutex.js';
import { LocalStartReservations, type StartReservations } from '../store/start-reservations.js';
import type { ThreadRecord, ThreadRecords, ThreadRef } from '../store/thread-records.js';
import {
  isAdmin,
  mayActAsAdmin,
  mayDecide,
  mayLetIn,
  mayRaiseBudget,
  mayStart,
  maySteer,
  mayStop,
  needsAccount,
  type AccessDecision,
  type AccessRules,
  type Account,
  type SessionFacts,
} from './policy.js';

export type GuardDeps = {
  bridge: Bridge;
  records: ThreadRecords;
  profiles: AgentProfiles;
  rules: AccessRules;
  accounts: { lookup(user: string): Promise<Account> };
  /** A session's approvers besides its owner (APPROVERS and the profile's). */
  approversFor: (record: ThreadRecord) => readonly string[];
  audit: AuditTrail;
  log: Logger;
  /** The lock a person's start checks run under (default: this process's); across replicas, Redis's. */
  startLock?: Mutex;
  /** Starts in flight by person (default: counted in this process); across replicas, in Redis. */
  starts?: StartReservations;
};

/** A start, or a mention that was a reply to the thread's session; refused by the access rules. */
export type GuardedStartOutcome = StartOutcome | NotAllowed;
/** `refused_again`: a refused reply whose author was already told once in this thread: nothing more is said. */
export type GuardedSteerOutcome = SteerOutcome | { kind: 'refused_again' };
export type StopOutcome = InterruptIntentOutcome | NotAllowed;
export type StopAllOutcome = NotAllowed | { kind: 'done'; stopped: number; failed: number };
export type LetInOutcome = { kind: 'let_in'; people: readonly string[] } | { kind: 'not_a_session' } | NotAllowed;
export type ListOutcome = { kind: 'listed'; sessions: RunningSession[] } | NotAllowed;
/** `no_record`: the thread has no record at all (nothing is said). */
export type CapActionOutcome = CapOutcome | NotAllowed | { kind: 'no_record' };

/**
 * The access rules in front of the bridge's intents: every start, steer, stop, decision,
 * answer and admin action is checked here with the pure policy, refused with the words
 * from `words.ts`, and written to the audit trail once, whatever its outcome. The bridge
 * behind it does the work and knows nothing of who may.
 */
export class AccessGuard {
  /** One start at a time per person, so two quick starts cannot both slip under the running limit. */
  private readonly startsByUser: Mutex;
  /** Starts let through and not yet finished, by person: they count towards the running limit. */
  private readonly startsInFlight: StartReservations;

  constructor(private readonly deps: GuardDeps) {
    this.startsByUser = deps.startLock ?? new KeyedMutex();
    this.startsInFlight = deps.starts ?? new LocalStartReservations();
  }

  /**
   * `stored`: the request is in the store already (`/agent` stores it before its ack, a
   * restart finds it there); once its outcome is known the bridge settles it.
   */
  async start(req: StartRequest, stored?: StoredStart): Promise<GuardedStartOutcome> {
    if (!stored) return this.checkedStart(req);
    let outcome: GuardedStartOutcome | undefined;
    try {
      outcome = await this.checkedStart(req, stored);
      return outcome;
    } finally {
      await this.deps.bridge.settleStored(stored, outcome);
    }
  }

  private async checkedStart(req: StartRequest, stored?: StoredStart): Promise<GuardedStartOutcome> {
    const { bridge, profiles, rules } = this.deps;
    // A mention in a thread that already is a session is a reply to it.
    if (req.threadTs) {
      const ref = { team: req.team, channel: req.channel, threadTs: req.threadTs };
      if (await bridge.isSessionThread(ref)) {
        const outcome = await this.steer(ref, {
          user: req.user,
          text: req.prompt,
          ts: req.promptTs ?? req.threadTs,
          ...(req.files ? { files: req.files } : {}),
        });
        return outcome.kind === 'not_allowed' ? outcome : { kind: 'started', ref };
      }
    }
    const entry = { action: 'start' as const, user: req.user, team: req.team, channel: req.channel, thread: req.threadTs };
    const choice = profiles.choose({ channel: req.channel, requested: req.profile });
    // An unknown profile is the bridge's to answer (it lists the profiles); nothing starts.
    if (choice.kind === 'not_chosen') {
      this.audit({ ...entry, outcome: 'refused', reason: 'unknown_profile' });
      return bridge.start(req, stored);
    }
    const profile = profiles.rulesFor(choice.target.profile);
    // The check and a reservation are made under the person's lock; the start itself runs
    // outside it, so one person's second /agent does not wait for the first to be created.
    // While a start is in flight its record may already count as well as its reservation:
    // for those few seconds the limit errs on the side of refusing.
    let release: (() => Promise<void>) | undefined;
    const decision = await this.startsByUser.run(`starts-of:${req.user}`, async () => {
      const account = needsAccount(rules, req.user, profile) ? await this.deps.accounts.lookup(req.user) : undefined;
      const running = (await this.runningFor(req.team, req.user)) + (await this.startsInFlight.count(req.user));
      const decided = mayStart(rules, { user: req.user, channel: req.channel, account, profile, running, promptChars: req.prompt.length });
      if (decided.kind === 'allowed') release = await this.startsInFlight.reserve(req.user);
      return decided;
    });
    if (decision.kind === 'refused') {
      this.audit({ ...entry, outcome: 'refused', reason: decision.reason.kind });
      return { kind: 'not_allowed', refusal: decision.reason };
    }
    try {
      const outcome = await bridge.start(req, stored);
      switch (outcome.kind) {
        case 'not_started':
          this.audit({ ...entry, outcome: 'failed', reason: startProblemWords(outcome.problem) });
          break;
        case 'started': {
          // The record says how the start went: a session id once created, a failure if it then failed.
          const record = await this.deps.records.get(outcome.ref);
          const failure = record?.failure;
          this.audit({
            ...entry,
            thread: outcome.ref.threadTs,
            session: record?.sessionId,
            outcome: failure || !record?.sessionId ? 'failed' : 'ok',
            reason: failure,
          });
          break;
        }
        default:
          unreachable(outcome);
      }
      return outcome;
    } finally {
      await release?.();
    }
  }

  /** A reply in a session thread: reaches the agent only if its author may steer (or answers an open question they may answer). */
  /** `again`: a reply a kill cut short after its ack, carried out at the next start-up (it may have reached the session). */
  async steer(ref: ThreadRef, msg: SteerMessage, again = false): Promise<GuardedSteerOutcome> {
    const record = await this.deps.records.get(ref);
    const entry = { user: msg.user, team: ref.team, channel: ref.channel, thread: ref.threadTs, session: record?.sessionId };
    if (!record) {
      const outcome = await this.deps.bridge.steer(ref, msg, again);
      const noop = outcome.kind === 'not_a_session' || outcome.kind === 'shutting_down';
      this.audit({
        ...entry,
        action: 'steer',
        outcome: noop ? 'noop' : outcome.kind === 'queued' ? 'queued' : 'ok',
        ...(outcome.kind === 'shutting_down' ? { reason: outcome.kind } : {}),
      });
      return outcome;
    }
    const facts = this.facts(record);
    const decision = await this.steerDecision(facts, msg.user, ref);
    if (decision.kind === 'refused') {
      this.audit({ ...entry, action: 'steer', outcome: 'refused', reason: decision.reason.kind });
      // Told once per person per thread; the record remembers it across restarts.
      let first = false;
      await this.deps.records.update(ref, (r) => {
        if (r.toldNotSteering?.includes(msg.user)) return;
        first = true;
        r.toldNotSteering = [...(r.toldNotSteering ?? []), msg.user];
      });
      return first ? { kind: 'not_allowed', refusal: decision.reason } : { kind: 'refused_again' };
    }
    const outcome = await this.deps.bridge.steer(ref, msg, again);
    const session = (await this.deps.records.get(ref))?.sessionId ?? entry.session;
    switch (outcome.kind) {
      case 'answered':
        this.audit({ ...entry, session, action: 'answer', outcome: 'ok', detail: { via: 'reply' } });
        break;
      case 'not_allowed':
        this.audit({ ...entry, session, action: 'answer', outcome: 'refused', reason: 'not_allowed_to_decide' });
        break;
      case 'sent':
        this.audit({ ...entry, session, action: 'steer', outcome: 'ok' });
        break;
      case 'failed':
        this.audit({ ...entry, session, action: 'steer', outcome: 'failed' });
        break;
      case 'not_a_session':
        this.audit({ ...entry, session, action: 'steer', outcome: 'noop' });
        break;
      case 'queued':
        this.audit({ ...entry, session, action: 'steer', outcome: 'queued' });
        break;
      case 'shutting_down':
        this.audit({ ...entry, session, action: 'steer', outcome: 'noop', reason: outcome.kind });
        break;
      default:
        unreachable(outcome);
    }
    return outcome;
  }

  private async steerDecision(facts: SessionFacts, user: string, ref: ThreadRef): Promise<AccessDecision> {
    const { rules } = this.deps;
    const first = maySteer(rules, facts, user);
    if (first.kind === 'allowed') return first;
    // Whether a guest may join in is only worth a users.info when steering is open to everyone allowed.
    if (facts.profile?.steering !== 'owner_only' && needsAccount(rules, user, facts.profile)) {
      const second = maySteer(rules, facts, user, await this.deps.accounts.lookup(user));
      if (second.kind === 'allowed') return second;
    }
    // An approver's reply to an open question is an answer, not steering.
    if (mayDecide(rules, facts, user, 'answer').kind === 'allowed' && (await this.deps.bridge.hasOpenQuestion(ref))) return { kind: 'allowed' };
    return first;
  }

  /** `native`: Slack's own Stop on the agent session; `home`: the Stop on the App Home tab. */
  async interrupt(ref: ThreadRef, user: string, via: 'button' | 'reaction' | 'stop_all' | 'native' | 'home'): Promise<StopOutcome> {
    const record = await this.deps.records.get(ref);
    const entry = {
      action: 'stop' as const,
      user,
      team: ref.team,
      channel: ref.channel,
      thread: ref.threadTs,
      session: record?.sessionId,
      detail: { via },
    };
    if (record) {
      const decision = mayStop(this.deps.rules, this.facts(record), user);
      if (decision.kind === 'refused') {
        this.audit({ ...entry, outcome: 'refused', reason: decision.reason.kind });
        return { kind: 'not_allowed', refusal: decision.reason };
      }
    }
    const outcome = await this.deps.bridge.interrupt(ref, user);
    switch (outcome.kind) {
      case 'sent':
        this.audit({ ...entry, outcome: 'ok' });
        break;
      case 'failed':
        this.audit({ ...entry, outcome: 'failed', reason: outcome.problem.words });
        break;
      case 'nothing_running':
      case 'already_stopping':
      case 'not_a_session':
      case 'shutting_down':
        this.audit({ ...entry, outcome: 'noop', reason: outcome.kind });
        break;
      case 'queued':
        this.audit({ ...entry, outcome: 'queued' });
        break;
      default:
        unreachable(outcome);
    }
    return outcome;
  }

  /** `decision` is whatever the bridge's decide takes (who, allow or deny, the reason). */
  async decide(ref: ThreadRef, eventId: string, decision: Parameters<Bridge['decide']>[2]): Promise<DecisionOutcome> {
    const action: AuditAction = decision.result === 'allow' ? 'approve' : 'deny';
    const record = await this.deps.records.get(ref);
    const entry = {
      action,
      user: decision.user,
      team: ref.team,
      channel: ref.channel,
      thread: ref.threadTs,
      session: record?.sessionId,
      detail: { toolUseId: eventId },
    };
    if (record) {
      const allowed = mayDecide(this.deps.rules, this.facts(record), decision.user, 'approve');
      if (allowed.kind === 'refused') {
        this.audit({ ...entry, outcome: 'refused', reason: allowed.reason.kind });
        return { kind: 'not_allowed', refusal: allowed.reason };
      }
    }
    const outcome = await this.deps.bridge.decide(ref, eventId, decision);
    this.audit({ ...entry, ...auditOfDecision(outcome) });
    return outcome;
  }

  /** Before the Deny dialog opens: a refusal here is the person's one audit line for that press. */
  async mayDecideIn(ref: ThreadRef, user: string): Promise<MayDecideOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    const allowed = mayDecide(this.deps.rules, this.facts(record), user, 'approve');
    if (allowed.kind === 'allowed') return allowed;
    this.audit({
      action: 'deny',
      user,
      team: ref.team,
      channel: ref.channel,
      thread: ref.threadTs,
      session: record.sessionId,
      outcome: 'refused',
      reason: allowed.reason.kind,
    });
    return { kind: 'not_allowed', refusal: allowed.reason };
  }

  /** `from` is whatever the bridge's answer takes (who, their words, the choice). */
  async answer(ref: ThreadRef, eventId: string, from: Parameters<Bridge['answer']>[2]): Promise<QuestionOutcome> {
    const record = await this.deps.records.get(ref);
    const entry = {
      action: 'answer' as const,
      user: from.user,
      team: ref.team,
      channel: ref.channel,
      thread: ref.threadTs,
      session: record?.sessionId,
      detail: { toolUseId: eventId, via: 'button' },
    };
    if (record) {
      const allowed = mayDecide(this.deps.rules, this.facts(record), from.user, 'answer');
      if (allowed.kind === 'refused') {
        this.audit({ ...entry, outcome: 'refused', reason: allowed.reason.kind });
        return { kind: 'not_allowed', refusal: allowed.reason };
      }
    }
    const outcome = await this.deps.bridge.answer(ref, eventId, from);
    this.audit({ ...entry, ...auditOfAnswer(outcome) });
    return outcome;
  }

  /** `@agent let @dana steer`: the owner or an admin lets people steer by replying. */
  async letIn(ref: ThreadRef, user: string, people: readonly string[]): Promise<LetInOutcome> {
    const record = await this.deps.records.get(ref);
    const entry = {
      action: 'let_in' as const,
      user,
      team: ref.team,
      channel: ref.channel,
      thread: ref.threadTs,
      session: record?.sessionId,
      detail: { people },
    };
    if (!record) {
      this.audit({ ...entry, outcome: 'noop', reason: 'not_a_session' });
      return { kind: 'not_a_session' };
    }
    const allowed = mayLetIn(this.deps.rules, this.facts(record), user);
    if (allowed.kind === 'refused') {
      this.audit({ ...entry, outcome: 'refused', reason: allowed.reason.kind });
      return { kind: 'not_allowed', refusal: allowed.reason };
    }
    await this.deps.records.update(ref, (r) => {
      r.steerers = [...new Set([...(r.steerers ?? []), ...people])];
      // Someone told earlier that their replies do not count is told nothing more; they count now.
      r.toldNotSteering = (r.toldNotSteering ?? []).filter((u) => !people.includes(u));
    });
    this.audit({ ...entry, outcome: 'ok' });
    return { kind: 'let_in', people };
  }

  /** `/agent stop-all` after its confirm: every running session is interrupted, each audited. */
  async stopAll(user: string, team: string): Promise<StopAllOutcome> {
    const allowed = mayActAsAdmin(this.deps.rules, user);
    if (allowed.kind === 'refused') {
      this.audit({ action: 'stop_all', user, team, outcome: 'refused', reason: allowed.reason.kind });
      return { kind: 'not_allowed', refusal: allowed.reason };
    }
    let stopped = 0;
    let failed = 0;
    // The admin's own workspace only: one store may hold several workspaces' sessions.
    for (const ref of (await this.deps.records.activeRefs()).filter((r) => r.team === team)) {
      const record = await this.deps.records.get(ref);
      if (!record?.sessionId || record.status !== 'active') continue;
      const outcome = await this.interrupt(ref, user, 'stop_all');
      if (outcome.kind === 'sent') stopped += 1;
      else if (outcome.kind === 'failed' || outcome.kind === 'not_allowed') failed += 1;
    }
    this.audit({ action: 'stop_all', user, team, outcome: failed > 0 ? 'failed' : 'ok', detail: { stopped, failed } });
    return { kind: 'done', stopped, failed };
  }

  /** `/agent sessions` (admins): every running session, for the person who asked. */
  async listRunning(user: string, team: string): Promise<ListOutcome> {
    const allowed = mayActAsAdmin(this.deps.rules, user);
    if (allowed.kind === 'refused') {
      this.audit({ action: 'list_sessions', user, team, outcome: 'refused', reason: allowed.reason.kind });
      return { kind: 'not_allowed', refusal: allowed.reason };
    }
    const sessions: RunningSession[] = [];
    // The admin's own workspace only: one bot (and store) may be installed in several.
    for (const ref of (await this.deps.records.activeRefs()).filter((r) => r.team === team)) {
      const record = await this.deps.records.get(ref).catch(() => undefined);
      if (!record || (record.status !== 'active' && record.status !== 'starting')) continue;
      sessions.push({ owner: record.owner, channel: record.channel, profile: record.profile, prompt: record.prompt });
    }
    this.audit({ action: 'list_sessions', user, team, outcome: 'ok', detail: { running: sessions.length } });
    return { kind: 'listed', sessions };
  }

  /** Raise the cap / End on a budget stop. */
  async capAction(ref: ThreadRef, stopId: string, user: string, what: 'raise' | 'end'): Promise<CapActionOutcome> {
    const record = await this.deps.records.get(ref);
    const action: AuditAction = what === 'raise' ? 'raise_cap' : 'end_session';
    const entry = { action, user, team: ref.team, channel: ref.channel, thread: ref.threadTs, session: record?.sessionId };
    if (!record) {
      this.audit({ ...entry, outcome: 'noop', reason: 'not_a_session' });
      return { kind: 'no_record' };
    }
    const allowed = mayRaiseBudget(this.deps.rules, this.facts(record), user);
    if (allowed.kind === 'refused') {
      this.audit({ ...entry, outcome: 'refused', reason: allowed.reason.kind });
      return { kind: 'not_allowed', refusal: allowed.reason };
    }
    const outcome: CapOutcome =
      what === 'raise' ? await this.deps.bridge.raiseCap(ref, stopId, user) : await this.deps.bridge.endAtCap(ref, stopId, user);
    switch (outcome.kind) {
      case 'raised':
        this.audit({ ...entry, outcome: 'ok', detail: { toCents: outcome.toCents } });
        break;
      case 'ended':
        this.audit({ ...entry, outcome: 'ok' });
        break;
      case 'at_max':
        this.audit({ ...entry, outcome: 'refused', reason: 'budget_at_max' });
        break;
      case 'not_paused':
      case 'no_cap':
      case 'not_a_session':
      case 'shutting_down':
        this.audit({ ...entry, outcome: 'noop', reason: outcome.kind });
        break;
      case 'failed':
        this.audit({ ...entry, outcome: 'failed', reason: outcome.words });
        break;
      case 'queued':
        this.audit({ ...entry, outcome: 'queued' });
        break;
      default:
        unreachable(outcome);
    }
    return outcome;
  }

  /** Sessions of this person that are starting or running (paused at a cap, idle or ended do not count). */
  private async runningFor(team: string, user: string): Promise<number> {
    let running = 0;
    for (const ref of await this.deps.records.activeRefsOf(team, user)) {
      const record = await this.deps.records.get(ref).catch(() => undefined);
      if (record?.owner === user && (record.status === 'starting' || record.status === 'active')) running += 1;
    }
    return running;
  }

  private facts(record: ThreadRecord): SessionFacts {
    return {
      owner: record.owner,
      approvers: this.deps.approversFor(record),
      steerers: record.steerers ?? [],
      channel: record.channel,
      profile: this.deps.profiles.rulesFor(record.profile),
    };
  }

  private audit(e: AuditEntry): void {
    this.deps.audit.record(e);
  }

  /** For messages: is this person one of the bot's admins. */
  isAdmin(user: string): boolean {
    return isAdmin(this.deps.rules, user);
  }
}

function auditOfDecision(outcome: DecisionOutcome): Pick<AuditEntry, 'outcome' | 'reason'> {
  switch (outcome.kind) {
    case 'sent':
      return { outcome: 'ok' };
    case 'not_pending':
    case 'not_a_session':
    case 'shutting_down':
      return { outcome: 'noop', reason: outcome.kind };
    case 'not_allowed':
      return { outcome: 'refused', reason: 'not_allowed_to_decide' };
    case 'failed':
      return { outcome: 'failed', reason: outcome.problem.words };
    case 'queued':
      return { outcome: 'queued' };
    default:
      return unreachable(outcome);
  }
}

function auditOfAnswer(outcome: QuestionOutcome): Pick<AuditEntry, 'outcome'> {
  switch (outcome.kind) {
    case 'answered':
      return { outcome: 'ok' };
    case 'not_allowed':
      return { outcome: 'refused' };
    case 'not_open':
    case 'not_a_session':
    case 'shutting_down':
      return { outcome: 'noop' };
    case 'queued':
      return { outcome: 'queued' };
    default:
      return unreachable(outcome);
  }
}
