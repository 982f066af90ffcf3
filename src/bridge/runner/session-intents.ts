import { describeApiError, type ApiProblem } from '../../agents/api-errors.js';
import type { Logger } from '../../ops/logger.js';
import { isLive } from '../../render/root-card.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import type { FileBlock } from '../file-intake.js';
import type { LocalEvent, ThreadState } from '../thread-state.js';
import type { AnswerOutcome, DecideOutcome, Decision, DecisionsDesk, QuestionAnswer } from './decisions-desk.js';
import type { MessageSender } from './message-sender.js';
import type { RecordKeeper } from './record-keeper.js';
import type { CapOutcome, CapSeen, SpendCapDesk } from './spend-cap-desk.js';
import type { TurnEnds } from './turn-ends.js';

/**
 * Who a message is from (its Slack message, if any); `mayHaveLanded`: see `sendMessage`;
 * `beforeSend`: called right before the send, which is not made when it rejects.
 */
export type SentBy = { user: string; ts?: string; mayHaveLanded?: boolean; beforeSend?: () => Promise<void> };
/**
 * `maybe_sent`: another replica may have sent it (`mayHaveLanded`) and the session does not
 * show it (a message queued behind a running turn is not in the events list yet), so it is
 * not sent a second time.
 */
export type SendOutcome = { kind: 'sent'; eventId: string } | { kind: 'failed'; problem: ApiProblem } | { kind: 'maybe_sent' };
export type InterruptOutcome =
  | { kind: 'sent' }
  | { kind: 'nothing_running' }
  | { kind: 'already_stopping' }
  | { kind: 'failed'; problem: ApiProblem };
/** After a restart: whether the thread's first prompt still has to be sent (with its files, by the bridge). */
export type ResumeOutcome = { kind: 'caught_up' } | { kind: 'prompt_unsent' } | { kind: 'failed' };

export type SessionIntentsDeps = {
  /** Holds the runner (and its stream) while the intent runs. */
  busy: <T>(work: () => Promise<T>) => Promise<T>;
  /** Opens the session's stream and loads its history, so the state is current. */
  openStream: () => Promise<void>;
  state: () => ThreadState;
  /** Folds the runner's own facts (a message or an interrupt sent). */
  fold: (events: LocalEvent[]) => void;
  record: Pick<RecordKeeper, 'current' | 'update' | 'fail'>;
  sender: Pick<MessageSender, 'sendMessage' | 'sendInterrupt' | 'landedMessage' | 'landedInterrupt'>;
  decisions: Pick<DecisionsDesk, 'decide' | 'openQuestion' | 'answer'>;
  spendCap: Pick<SpendCapDesk, 'raise' | 'end'>;
  delivery: { request: () => void; adoptPosted: () => Promise<void> };
  turnEnds: Pick<TurnEnds, 'persistStatus' | 'markTurnDone' | 'shareOutputs'>;
  /** Background work the owner waits for on settle and close. */
  track: (work: Promise<unknown>) => void;
  log: Pick<Logger, 'info' | 'error'>;
};

/**
 * People's intents for one session, each holding the stream open while it runs: a
 * message, an interrupt, a decision, an answer, a spend-cap press, and the catch-up
 * after a restart. Failures of the API come back as values with their words.
 */
export class SessionIntents {
  constructor(private readonly deps: SessionIntentsDeps) {}

  /**
   * A human message for the agent: the first prompt, a steer mid-run, or the next turn. `files`: image/document blocks after the text.
   * `mayHaveLanded`: another replica may have sent it and stopped before recording it, so the session is looked at first.
   */
  sendMessage(text: string, from: SentBy, files: readonly FileBlock[] = []): Promise<SendOutcome> {
    const d = this.deps;
    return d.busy(async () => {
      try {
        await d.openStream();
        const state = d.state();
        const known = new Set([...state.processedUserMessages, ...state.queuedUserMessages, ...Object.keys(d.record.current().sentMessages)]);
        const landed = from.mayHaveLanded ? await d.sender.landedMessage(text, known) : undefined;
        // Only a running turn hides a message that landed (queued behind it); with none running, one not in the history never landed.
        if (from.mayHaveLanded && !landed && state.turnOpen) return { kind: 'maybe_sent' };
        if (landed) d.log.info({ eventId: landed }, 'message had been sent by a replica that stopped; not sent again');
        if (!landed) await from.beforeSend?.();
        const eventId = landed ?? (await d.sender.sendMessage(text, files, known));
        d.fold([{ type: 'local.user_message_sent', id: eventId }]);
        await d.record.update((r) => {
          r.sentMessages[eventId] = { user: from.user, ...(from.ts ? { ts: from.ts } : {}) };
          if (r.status === 'starting' || r.status === 'failed') {
            // The session took the message: an earlier bridge failure is history now.
            r.status = 'active';
            delete r.failure;
          }
        });
        // The turn may have finished while the send was in flight.
        d.track(d.turnEnds.persistStatus());
        if (!d.state().turnOpen && d.state().turnStartedBy === eventId) d.track(d.turnEnds.markTurnDone());
        return { kind: 'sent', eventId };
      } catch (error) {
        const problem = describeApiError(error, 'sending the message to the agent');
        d.log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'could not send user.message');
        return { kind: 'failed', problem };
      }
    });
  }

  /** After a restart: reopen the stream and catch up; says whether the first prompt never went out. */
  resume(): Promise<ResumeOutcome> {
    const d = this.deps;
    return d.busy(async (): Promise<ResumeOutcome> => {
      try {
        await d.delivery.adoptPosted();
        await d.openStream();
        const state = d.state();
        // A turn that ended while the bot was down still shares its files.
        if (!state.turnOpen && state.turn > 0) d.track(d.turnEnds.shareOutputs());
        const neverSent = state.processedUserMessages.length === 0 && state.queuedUserMessages.length === 0;
        return { kind: d.record.current().status === 'starting' && neverSent ? 'prompt_unsent' : 'caught_up' };
      } catch (error) {
        const problem = describeApiError(error, 'reconnecting to the session');
        d.log.error({ err: error, requestId: problem.requestId }, 'could not resume session');
        await d.record.fail(problem.words);
        return { kind: 'failed' };
      }
    });
  }

  /** `mayHaveLanded`: another replica may have sent it and stopped before recording it, so the session is looked at first. */
  interrupt(user: string, mayHaveLanded = false): Promise<InterruptOutcome> {
    const d = this.deps;
    const running = (status: ThreadRecord['status']) => status === 'active' || status === 'starting';
    if (!mayHaveLanded && !running(d.record.current().status)) return Promise.resolve({ kind: 'nothing_running' });
    return d.busy(async (): Promise<InterruptOutcome> => {
      try {
        await d.openStream();
        if (mayHaveLanded) {
          const landed = await d.sender.landedInterrupt((id) => Boolean(d.record.current().interrupts[id]));
          if (landed) {
            await d.record.update((r) => {
              r.interrupts[landed] = user;
            });
            d.delivery.request();
            d.log.info({ user, interruptId: landed }, 'interrupt had been sent by a replica that stopped; not sent again');
            return { kind: 'sent' };
          }
          if (!running(d.record.current().status)) return { kind: 'nothing_running' };
        }
        const state = d.state();
        if (!isLive(state) || state.phase === 'starting') return { kind: 'nothing_running' };
        if (state.interruptId !== undefined) return { kind: 'already_stopping' };
        const id = await d.sender.sendInterrupt((id) => Boolean(d.record.current().interrupts[id]));
        // Before any await: the echo and the idle may already be folded; fold ignores a late note.
        d.fold([{ type: 'local.interrupt_sent', id }]);
        await d.record.update((r) => {
          r.interrupts[id] = user;
        });
        d.delivery.request();
        d.log.info({ user, interruptId: id }, 'interrupt sent');
        return { kind: 'sent' };
      } catch (error) {
        const problem = describeApiError(error, 'stopping the agent');
        d.log.error({ err: error, requestId: problem.requestId }, 'could not send user.interrupt');
        return { kind: 'failed', problem };
      }
    });
  }

  /**
   * A person's Approve/Deny for a tool call. The decision is recorded before it is
   * sent, so a restart in between sends it then (and the card already shows it).
   */
  decide(eventId: string, decision: Decision): Promise<DecideOutcome> {
    const d = this.deps;
    return d.busy(async (): Promise<DecideOutcome> => {
      try {
        await d.openStream();
      } catch (error) {
        return { kind: 'failed', problem: describeApiError(error, 'reading the session') };
      }
      return d.decisions.decide(eventId, decision);
    });
  }

  /** The oldest question still open (history loaded first), if any: replies answer it rather than steer. */
  openQuestion(): Promise<string | undefined> {
    const d = this.deps;
    return d.busy(async () => {
      await d.openStream();
      return d.decisions.openQuestion();
    });
  }

  answer(eventId: string, said: QuestionAnswer & { choice?: number }): Promise<AnswerOutcome> {
    const d = this.deps;
    return d.busy(async (): Promise<AnswerOutcome> => {
      await d.openStream();
      return d.decisions.answer(eventId, said);
    });
  }

  /** Raise the cap on a session stopped at it (`seen`: the record as the caller just read it). */
  raiseCap(stopId: string, user: string, seen: CapSeen): Promise<CapOutcome> {
    return this.deps.busy(() => this.deps.spendCap.raise(stopId, user, seen));
  }

  /** End a session stopped at its spend cap. */
  endAtCap(stopId: string, user: string, seen: Pick<ThreadRecord, 'budgetActions'>): Promise<CapOutcome> {
    return this.deps.busy(() => this.deps.spendCap.end(stopId, user, seen));
  }
}
