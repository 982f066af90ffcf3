import type { Logger } from './logger.js';

/**
 * The audit trail: one JSON log line per thing a person did or tried, with the same
 * fields every time so it can be shipped to any log store and queried
 * (`audit = true and action = "stop" and outcome = "refused"`). The shape is
 * documented in the README (Security → Audit trail); change it only with that.
 */
export type AuditAction =
  | 'start'
  | 'steer'
  | 'stop'
  | 'approve'
  | 'deny'
  | 'answer'
  | 'let_in'
  | 'stop_all'
  | 'list_sessions'
  | 'raise_cap'
  | 'end_session'
  /** A 👍 / 👎 on a finished answer, and the note a 👎 may add. */
  | 'feedback';

/**
 * `ok`: done; `refused`: the rules said no (`reason` says which rule); `noop`: allowed but
 * nothing to do (nothing running, already decided); `failed`: allowed, but Slack or the
 * API did not take it (`reason` says what); `queued`: allowed, relayed to the replica
 * following the thread, which did not answer in time (it is carried out when the thread
 * is followed again).
 */
export type AuditOutcome = 'ok' | 'refused' | 'noop' | 'failed' | 'queued';

export type AuditEntry = {
  action: AuditAction;
  user: string;
  team?: string | undefined;
  channel?: string | undefined;
  thread?: string | undefined;
  session?: string | undefined;
  outcome: AuditOutcome;
  reason?: string | undefined;
  /** Action-specific facts (the new cap, how many sessions stop-all stopped, who was let in). */
  detail?: Record<string, string | number | boolean | readonly string[]>;
};

export class AuditTrail {
  constructor(private readonly log: Logger) {}

  record(e: AuditEntry): void {
    this.log.info(
      {
        audit: true,
        action: e.action,
        user: e.user,
        team: e.team ?? null,
        channel: e.channel ?? null,
        thread: e.thread ?? null,
        session: e.session ?? null,
        outcome: e.outcome,
        reason: e.reason ?? null,
        ...(e.detail ? { detail: e.detail } : {}),
      },
      'audit',
    );
  }
}
