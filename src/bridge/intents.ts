import type { Refusal } from '../access/policy.js';
import type { Again } from '../replicas/relay.js';
import { threadKey, type ThreadRecord, type ThreadRef } from '../store/thread-records.js';
import { replyWords } from '../words/replies.js';
import type { BridgeDeps } from './bridge-deps.js';
import type {
  CapOutcome,
  DecisionOutcome,
  InterruptIntentOutcome,
  MayDecideOutcome,
  QuestionOutcome,
  ShuttingDown,
  SteerMessage,
  SteerOutcome,
} from './outcomes.js';
import type { Receipts } from './runner/receipts.js';
import type { Runners } from './runners.js';
import type { Starting } from './starting.js';
import type { ThreadQueues } from './thread-queues.js';

/** A reply relayed from another replica, as the drain of its thread hands it over (see `steer`). */
export type StoredReply = { again: Again; sending: () => Promise<void> };

export type IntentsDeps = Pick<BridgeDeps, 'records' | 'log' | 'intake' | 'approversFor' | 'admins'> & {
  runners: Runners;
  starting: Starting;
  queues: ThreadQueues;
  receipts: Receipts;
};

const SHUTTING_DOWN: ShuttingDown = { kind: 'shutting_down' };

/**
 * What people do in a session thread once it exists: reply (steer or answer), stop,
 * decide a tool call, answer a question, act on a spend-cap stop. Each waits for a start
 * in flight in its thread, finds the thread's session and hands the intent to its runner.
 */
export class Intents {
  constructor(private readonly deps: IntentsDeps) {}

  /**
   * `stored`: a reply relayed from another replica (several replicas). `again`: a replica had
   * taken it and stopped before saying what became of it (`sending`: it may have reached the
   * session); `sending` is called right before it is sent.
   */
  async steer(ref: ThreadRef, msg: SteerMessage, stored?: StoredReply): Promise<SteerOutcome> {
    const key = threadKey(ref);
    await this.deps.starting.wait(ref);
    // One at a time per thread: a reply with files (downloaded and uploaded first) is
    // not overtaken by the plain reply written after it.
    if (this.deps.queues.busy(key))
      this.deps.log.debug({ channel: ref.channel, thread: ref.threadTs, ts: msg.ts }, 'reply waits for an earlier one of its thread');
    return this.deps.queues.run(key, () => this.steerNow(ref, msg, stored));
  }

  /** A reply, now: the caller holds the thread's queue. */
  async steerNow(ref: ThreadRef, msg: SteerMessage, stored?: StoredReply): Promise<SteerOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    if (stored?.again) {
      // Sent (its Slack message is in the record) or taken as an answer already: not a second time.
      if (Object.values(record.sentMessages).some((m) => m.ts === msg.ts)) return { kind: 'sent' };
      if (Object.values(record.answers).some((a) => a.user === msg.user && a.text === msg.text)) return { kind: 'answered' };
    }
    await this.deps.records.indexMessage(ref, msg.ts);
    const runner = this.deps.runners.for({ ...record, sessionId: record.sessionId });
    if (!runner) return SHUTTING_DOWN;
    return runner.busy(async (): Promise<SteerOutcome> => {
      // While the agent waits on a question, a reply is its answer, not a new instruction.
      const question = await runner.openQuestion().catch(() => undefined);
      if (question && !this.mayDecide(record, msg.user)) return { kind: 'not_allowed', refusal: this.whoMayDecide(record, 'answer') };
      // Files first: an answer carries its files, like a message does.
      const input = await this.deps.intake.prepare({
        sessionId: runner.sessionId,
        channel: ref.channel,
        threadTs: ref.threadTs,
        user: msg.user,
        text: msg.text,
        ...(msg.files ? { files: msg.files } : {}),
      });
      if (question) {
        const attachments = msg.files?.length ? { attachments: { text: input.text, blocks: input.blocks } } : {};
        const answered = await runner.answer(question, { user: msg.user, text: msg.text, ...attachments });
        if (answered.kind === 'answered') {
          await this.deps.receipts.seen(ref.channel, msg.ts);
          return { kind: 'answered' };
        }
      }
      const sent = await runner.sendMessage(
        input.text,
        {
          user: msg.user,
          ts: msg.ts,
          ...(stored?.again === 'sending' ? { mayHaveLanded: true } : {}),
          ...(stored ? { beforeSend: stored.sending } : {}),
        },
        input.blocks,
      );
      if (sent.kind === 'maybe_sent') {
        await runner.note(replyWords({ kind: 'replica_unanswered' }));
        return { kind: 'failed' };
      }
      if (sent.kind === 'failed') {
        await runner.note(replyWords({ kind: 'message_not_sent', problem: sent.problem.words }));
        return { kind: 'failed' };
      }
      await this.deps.receipts.seen(ref.channel, msg.ts);
      return { kind: 'sent' };
    });
  }

  /** Approve or deny a tool call: only the owner and the profile's approvers may. */
  async decide(ref: ThreadRef, eventId: string, decision: { user: string; result: 'allow' | 'deny'; reason?: string }): Promise<DecisionOutcome> {
    await this.deps.starting.wait(ref);
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    if (!this.mayDecide(record, decision.user)) return { kind: 'not_allowed', refusal: this.whoMayDecide(record, 'approve') };
    return this.deps.runners.for({ ...record, sessionId: record.sessionId })?.decide(eventId, decision) ?? SHUTTING_DOWN;
  }

  /** Whether a person may decide in this thread, asked before a Deny opens its reason dialog. */
  async mayDecideIn(ref: ThreadRef, user: string): Promise<MayDecideOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    return this.mayDecide(record, user) ? { kind: 'allowed' } : { kind: 'not_allowed', refusal: this.whoMayDecide(record, 'approve') };
  }

  /** Whether the agent waits on an ask_user question in this thread (a reply would answer it). */
  async hasOpenQuestion(ref: ThreadRef): Promise<boolean> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return false;
    const runner = this.deps.runners.for({ ...record, sessionId: record.sessionId });
    return (await runner?.openQuestion().catch(() => undefined)) !== undefined;
  }

  /** A button answer to an ask_user question. */
  async answer(ref: ThreadRef, eventId: string, from: { user: string; text: string; choice?: number }): Promise<QuestionOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    if (!this.mayDecide(record, from.user)) return { kind: 'not_allowed', refusal: this.whoMayDecide(record, 'answer') };
    return this.deps.runners.for({ ...record, sessionId: record.sessionId })?.answer(eventId, from) ?? SHUTTING_DOWN;
  }

  /** `again`: a replica had taken this Stop and stopped before saying what became of it (several replicas). */
  async interrupt(ref: ThreadRef, user: string, again = false): Promise<InterruptIntentOutcome> {
    await this.deps.starting.wait(ref);
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    return this.deps.runners.for({ ...record, sessionId: record.sessionId })?.interrupt(user, again) ?? SHUTTING_DOWN;
  }

  /**
   * Raise the spend cap of a session stopped at it (the budget card's button). Recorded
   * first (the first press wins), then sent with sessions.update; the session goes on by itself.
   */
  async raiseCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    const cap = record.spendCap;
    if (!cap) return { kind: 'no_cap' };
    return this.deps.runners.for({ ...record, sessionId: record.sessionId })?.raiseCap(stopId, user, { ...record, spendCap: cap }) ?? SHUTTING_DOWN;
  }

  /** End a session stopped at its spend cap (the budget card's End): archived, so it runs no more. */
  async endAtCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    return this.deps.runners.for({ ...record, sessionId: record.sessionId })?.endAtCap(stopId, user, record) ?? SHUTTING_DOWN;
  }

  /** A thread whose session exists or is being created (a failed start is not one: a mention may retry). */
  async isSessionThread(ref: ThreadRef): Promise<boolean> {
    if (this.deps.starting.has(ref)) return true;
    const record = await this.deps.records.get(ref);
    // A start cut short by a restart is being recovered: its replies wait for it.
    return record?.sessionId !== undefined || (record?.status === 'starting' && record.sessionRequest !== undefined);
  }

  private mayDecide(record: ThreadRecord, user: string): boolean {
    return user === record.owner || (this.deps.approversFor?.(record) ?? []).includes(user) || (this.deps.admins ?? []).includes(user);
  }

  private whoMayDecide(record: ThreadRecord, what: 'approve' | 'answer'): Refusal {
    // The same refusal as the access guard's, so people read one wording wherever they are refused.
    return { kind: 'not_allowed_to_decide', owner: record.owner, approvers: this.deps.approversFor?.(record) ?? [], what };
  }
}
