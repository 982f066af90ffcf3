import { describeApiError, type ApiProblem } from '../../agents/api-errors.js';
import type { Logger } from '../../ops/logger.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import type { FileBlock } from '../file-intake.js';
import { openQuestions, pendingApprovals, type ThreadState } from '../thread-state.js';
import type { SendAnswer } from './answer-once.js';

export type DecideOutcome = { kind: 'sent' } | { kind: 'not_pending' } | { kind: 'failed'; problem: ApiProblem };
export type AnswerOutcome = { kind: 'answered' } | { kind: 'not_open' };
/** A person's Approve/Deny for a tool call. */
export type Decision = { user: string; result: 'allow' | 'deny'; reason?: string };
/** A person's answer to an ask_user question; files shared with a reply go with it. */
export type QuestionAnswer = { user: string; text: string; attachments?: { text: string; blocks: FileBlock[] } };

/** The thread's record as the desk reads and changes it (under the store's lock). */
export type RecordAccess = {
  current: () => Pick<ThreadRecord, 'decisions' | 'answers'>;
  update: (change: (r: ThreadRecord) => void) => Promise<void>;
};

export type DecisionsDeskDeps = {
  /** The fold's state now (history loaded by the caller first). */
  state: () => ThreadState;
  record: RecordAccess;
  /** The thread shows what changed (a card's buttons gone, a decision named). */
  show: () => void;
  send: SendAnswer;
  /** Background work the owner waits for on settle and close. */
  track: (work: Promise<unknown>) => void;
  log: Logger;
  /** Aborted when the runner closes: waiting questions give up. */
  signal: AbortSignal;
  /** How long an ask_user question waits for an answer (default 24 h). */
  questionTimeoutMs?: number;
};

/**
 * What people decide for the agent: Approve/Deny on tool calls and answers to its
 * questions. Each is written into the record first (the first of two wins, under the
 * record's lock), then sent; a decision recorded but not yet taken by the API (a
 * restart in between, a failed send) is sent when the fold next shows it pending.
 */
export class DecisionsDesk {
  /** ask_user calls waiting for a person, by custom_tool_use event id. */
  private readonly waiters = new Map<string, (answer: QuestionAnswer) => void>();
  /** Confirmations being sent, by tool_use event id, and those the API has taken. */
  private readonly inFlight = new Set<string>();
  private readonly sent = new Set<string>();

  constructor(private readonly deps: DecisionsDeskDeps) {}

  async decide(eventId: string, decision: Decision): Promise<DecideOutcome> {
    const { record, log } = this.deps;
    const pending = pendingApprovals(this.deps.state()).some((a) => a.id === eventId);
    if (!pending || record.current().decisions[eventId]) return { kind: 'not_pending' };
    // Two clicks at once: the record (under its lock) keeps the first; the second is told so.
    let first = false;
    await record.update((r) => {
      if (r.decisions[eventId]) return;
      first = true;
      r.decisions[eventId] = {
        user: decision.user,
        result: decision.result,
        ...(decision.reason ? { reason: decision.reason } : {}),
        at: Date.now(),
      };
    });
    if (!first) return { kind: 'not_pending' };
    this.deps.show();
    log.info({ toolUseId: eventId, user: decision.user, result: decision.result }, 'tool call decided');
    const problem = await this.sendDecision(eventId);
    return problem ? { kind: 'failed', problem } : { kind: 'sent' };
  }

  /** Decisions recorded but not yet taken by the API (a restart in between, or a failed send). */
  sendRecorded(): void {
    const decisions = this.deps.record.current().decisions;
    for (const approval of pendingApprovals(this.deps.state())) {
      if (!decisions[approval.id] || this.inFlight.has(approval.id) || this.sent.has(approval.id)) continue;
      this.deps.track(this.sendDecision(approval.id));
    }
  }

  /** The oldest question still open, if any: replies answer it rather than steer. */
  openQuestion(): string | undefined {
    const answers = this.deps.record.current().answers;
    return openQuestions(this.deps.state()).find((q) => !answers[q.id])?.id;
  }

  /** `choice`: the index of the button pressed, whose whole text the agent gets. */
  async answer(eventId: string, said: QuestionAnswer & { choice?: number }): Promise<AnswerOutcome> {
    const { record, log } = this.deps;
    const question = openQuestions(this.deps.state()).find((q) => q.id === eventId);
    if (!question || record.current().answers[eventId]) return { kind: 'not_open' };
    // A button's label may be cut to fit Slack: the agent gets the whole choice it offered.
    const { choice, ...given } = said;
    const from: QuestionAnswer = { ...given, text: (choice !== undefined ? question.choices[choice] : undefined) ?? given.text };
    let first = false;
    await record.update((r) => {
      if (r.answers[eventId]) return;
      first = true;
      r.answers[eventId] = { user: from.user, text: from.text, at: Date.now(), ...(from.attachments ? { attachments: from.attachments } : {}) };
    });
    if (!first) return { kind: 'not_open' };
    this.deps.show();
    log.info({ toolUseId: eventId, user: from.user }, 'question answered');
    this.waiters.get(eventId)?.(from);
    return { kind: 'answered' };
  }

  /** The answer recorded for a question, or the first one given from now on (bounded by the question timeout). */
  awaitAnswer(eventId: string): Promise<QuestionAnswer> {
    const known = this.deps.record.current().answers[eventId];
    if (known) return Promise.resolve({ user: known.user, text: known.text, ...(known.attachments ? { attachments: known.attachments } : {}) });
    const timeoutMs = this.deps.questionTimeoutMs ?? 24 * 60 * 60 * 1000;
    const signal = this.deps.signal;
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.delete(eventId);
      };
      const onAbort = () => {
        finish();
        reject(new Error('the bot is shutting down'));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`nobody answered within ${describeDuration(timeoutMs)}; continue without the answer or ask again later`));
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(eventId, (answer) => {
        finish();
        resolve(answer);
      });
    });
  }

  /** Sends one recorded decision; returns the problem when the API did not take it. */
  private async sendDecision(eventId: string): Promise<ApiProblem | undefined> {
    const decision = this.deps.record.current().decisions[eventId];
    if (!decision || this.inFlight.has(eventId) || this.sent.has(eventId)) return undefined;
    this.inFlight.add(eventId);
    try {
      const sent = await this.deps.send(
        'user.tool_confirmation',
        eventId,
        decision.result === 'allow'
          ? { type: 'user.tool_confirmation', tool_use_id: eventId, result: 'allow' }
          : { type: 'user.tool_confirmation', tool_use_id: eventId, result: 'deny', ...(decision.reason ? { deny_message: decision.reason } : {}) },
      );
      if (sent.kind !== 'failed') {
        this.sent.add(eventId);
        return undefined;
      }
      const problem = describeApiError(sent.error, 'sending the decision to the agent');
      this.deps.log.error({ err: sent.error, toolUseId: eventId, requestId: problem.requestId }, 'could not send tool confirmation');
      // Forget the decision so the buttons come back and someone can try again.
      await this.deps.record.update((r) => {
        delete r.decisions[eventId];
      });
      this.deps.show();
      return problem;
    } finally {
      this.inFlight.delete(eventId);
    }
  }
}

function describeDuration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}
