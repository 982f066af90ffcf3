import type {
  CapActionOutcome,
  GuardedStartOutcome,
  GuardedSteerOutcome,
  LetInOutcome,
  ListOutcome,
  StopAllOutcome,
  StopOutcome,
} from '../access/guard.js';
import { refusalWords } from '../access/words.js';
import type { DecisionOutcome, MayDecideOutcome, QuestionOutcome } from '../bridge/bridge.js';
import { unreachable } from '../ops/unreachable.js';
import { replyWords } from '../words/replies.js';
import { sessionsWords } from '../words/sessions.js';
import { spendCapWords } from '../words/spend-cap.js';
import { startProblemWords } from '../words/starts.js';

/**
 * What the person who asked reads, privately, after each intent: one function per intent,
 * each an exhaustive switch over its outcome. `undefined`: nothing to say (the thread
 * itself shows what happened).
 */

export function startReply(o: GuardedStartOutcome): string | undefined {
  switch (o.kind) {
    case 'started':
      return undefined;
    case 'not_started':
      return startProblemWords(o.problem);
    case 'not_allowed':
      return refusalWords(o.refusal);
    default:
      return unreachable(o);
  }
}

export function steerReply(o: GuardedSteerOutcome): string | undefined {
  switch (o.kind) {
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'shutting_down':
      return replyWords({ kind: 'bot_restarting' });
    // A failed send is said in the thread; a second refusal is not said again.
    case 'sent':
    case 'answered':
    case 'failed':
    case 'not_a_session':
    case 'refused_again':
      return undefined;
    case 'queued':
      return replyWords({ kind: 'replica_queued' });
    default:
      return unreachable(o);
  }
}

export function stopReply(o: StopOutcome): string | undefined {
  switch (o.kind) {
    case 'nothing_running':
      return replyWords({ kind: 'nothing_running' });
    case 'already_stopping':
      return replyWords({ kind: 'already_stopping' });
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'failed':
      return replyWords({ kind: 'stop_failed', problem: o.problem.words });
    case 'queued':
      return replyWords({ kind: 'replica_queued' });
    case 'shutting_down':
      return replyWords({ kind: 'bot_restarting' });
    case 'sent':
    case 'not_a_session':
      return undefined;
    default:
      return unreachable(o);
  }
}

/** A Stop pressed on the Home tab: the answer is told there, whatever became of it. */
export function homeStopReply(o: StopOutcome): string {
  switch (o.kind) {
    case 'sent':
      return replyWords({ kind: 'stop_sent' });
    case 'nothing_running':
      return replyWords({ kind: 'nothing_running' });
    case 'already_stopping':
      return replyWords({ kind: 'already_stopping' });
    case 'not_a_session':
      return replyWords({ kind: 'button_session_missing' });
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'failed':
      return replyWords({ kind: 'stop_failed', problem: o.problem.words });
    case 'queued':
      return replyWords({ kind: 'replica_queued' });
    case 'shutting_down':
      return replyWords({ kind: 'bot_restarting' });
    default:
      return unreachable(o);
  }
}

export function decisionReply(o: DecisionOutcome): string | undefined {
  switch (o.kind) {
    case 'sent':
      return undefined;
    case 'not_pending':
      return replyWords({ kind: 'decision_closed' });
    case 'not_a_session':
      return replyWords({ kind: 'button_session_missing' });
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'failed':
      return replyWords({ kind: 'decision_not_sent', problem: o.problem.words });
    case 'queued':
      return replyWords({ kind: 'replica_queued' });
    case 'shutting_down':
      return replyWords({ kind: 'bot_restarting' });
    default:
      return unreachable(o);
  }
}

/** Before the Deny dialog: `undefined` when it may open. */
export function denyDialogReply(o: MayDecideOutcome): string | undefined {
  switch (o.kind) {
    case 'allowed':
      return undefined;
    case 'not_a_session':
      return replyWords({ kind: 'button_session_missing' });
    case 'not_allowed':
      return refusalWords(o.refusal);
    default:
      return unreachable(o);
  }
}

export function answerReply(o: QuestionOutcome): string | undefined {
  switch (o.kind) {
    case 'answered':
      return undefined;
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'not_open':
      return replyWords({ kind: 'question_closed' });
    case 'not_a_session':
      return replyWords({ kind: 'button_session_missing' });
    case 'queued':
      return replyWords({ kind: 'replica_queued' });
    case 'shutting_down':
      return replyWords({ kind: 'bot_restarting' });
    default:
      return unreachable(o);
  }
}

export function capReply(o: CapActionOutcome): string | undefined {
  switch (o.kind) {
    // The thread shows a raise or an end; a thread with no record has nothing to say it in.
    case 'raised':
    case 'ended':
    case 'no_record':
      return undefined;
    case 'at_max':
      return refusalWords({ kind: 'budget_at_max', maxCents: o.maxCents });
    case 'not_paused':
      return spendCapWords({ kind: 'not_paused' });
    case 'no_cap':
    case 'not_a_session':
      return spendCapWords({ kind: 'no_cap' });
    case 'failed':
      return o.words;
    case 'queued':
      return replyWords({ kind: 'replica_queued' });
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'shutting_down':
      return replyWords({ kind: 'bot_restarting' });
    default:
      return unreachable(o);
  }
}

export function letInReply(o: LetInOutcome): string {
  switch (o.kind) {
    case 'let_in':
      return sessionsWords({ kind: 'let_in_done', people: o.people });
    case 'not_a_session':
      return sessionsWords({ kind: 'let_in_not_a_session' });
    case 'not_allowed':
      return refusalWords(o.refusal);
    default:
      return unreachable(o);
  }
}

export function listReply(o: ListOutcome): string {
  switch (o.kind) {
    case 'listed':
      return sessionsWords({ kind: 'running', sessions: o.sessions });
    case 'not_allowed':
      return refusalWords(o.refusal);
    default:
      return unreachable(o);
  }
}

/** `asked`: `/agent stop-all` typed by someone who is not an admin (nothing stops, nothing is confirmed). */
export function stopAllReply(o: StopAllOutcome, when: 'asked' | 'confirmed'): string {
  switch (o.kind) {
    case 'not_allowed':
      return refusalWords(o.refusal);
    case 'done':
      return when === 'asked' ? replyWords({ kind: 'nothing_to_do' }) : replyWords({ kind: 'stop_all_done', stopped: o.stopped, failed: o.failed });
    default:
      return unreachable(o);
  }
}
