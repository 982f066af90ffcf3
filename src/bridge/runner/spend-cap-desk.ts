import { describeApiError } from '../../agents/api-errors.js';
import { nextCap, type Raise } from '../../access/spend-cap.js';
import type { Logger } from '../../ops/logger.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import type { ThreadState } from '../thread-state.js';

export type CapOutcome =
  | Raise
  | { kind: 'ended' }
  | { kind: 'not_paused' }
  | { kind: 'no_cap' }
  | { kind: 'not_a_session' }
  | { kind: 'failed'; words: string };

/** The record as the bridge just read it: the cap, and what was pressed already. */
export type CapSeen = Pick<ThreadRecord, 'budgetActions'> & { spendCap: NonNullable<ThreadRecord['spendCap']> };

export type SpendCapDeskDeps = {
  /** The stream open and caught up, so `state` shows whether the session is stopped at its cap. */
  ready: () => Promise<void>;
  state: () => ThreadState;
  /** Writes a change into the record (under the store's lock) and shows it in the thread. */
  amend: (change: (r: ThreadRecord) => void) => Promise<void>;
  /** Keep following the stream until the session reaches one of these phases (undefined: stop keeping it). */
  followUntil: (phases: ReadonlyArray<ThreadState['phase']> | undefined) => void;
  /** The session's new cap (sessions.update). */
  setCap: (cents: number) => Promise<void>;
  /** Ends the session (sessions.archive). */
  archive: () => Promise<void>;
  log: Logger;
};

/**
 * Raise the cap / End on a session the API stopped at its spend cap. The first press is
 * recorded (the record's lock keeps it), then sent; the session moves by itself, so the
 * stream is kept open until it does. A press the API refused is forgotten, so the
 * buttons come back.
 */
export class SpendCapDesk {
  constructor(private readonly deps: SpendCapDeskDeps) {}

  /** The stop at the spend cap waiting for a person, with the spend so far in cents. */
  pausedAt(): { id: string; spentCents: number } | undefined {
    const state = this.deps.state();
    const stop = state.items.findLast((i) => i.kind === 'budget');
    if (!stop || state.phase !== 'idle' || state.outcome !== 'budget') return undefined;
    const spent = Number(state.usage.cost?.amount ?? 0);
    return { id: stop.id, spentCents: Number.isFinite(spent) ? spent : 0 };
  }

  async raise(stopId: string, user: string, seen: CapSeen): Promise<CapOutcome> {
    const cap = seen.spendCap;
    const stop = await this.stopAwaiting(stopId, seen);
    if (!stop) return { kind: 'not_paused' };
    const raise: Raise = nextCap({ currentCents: cap.currentCents, stepCents: cap.startCents, maxCents: cap.maxCents, spentCents: stop.spentCents });
    if (raise.kind === 'at_max') return raise;
    if (!(await this.claim(stopId, { user, action: 'raise', toCents: raise.toCents }))) return { kind: 'not_paused' };
    this.deps.followUntil(['running', 'terminated']);
    try {
      await this.deps.setCap(raise.toCents);
    } catch (error) {
      return this.failed(stopId, error, 'raising the spend cap');
    }
    await this.deps.amend((r) => {
      if (r.spendCap) r.spendCap.currentCents = raise.toCents;
    });
    this.deps.log.info({ user, toCents: raise.toCents }, 'spend cap raised');
    return raise;
  }

  async end(stopId: string, user: string, seen: Pick<ThreadRecord, 'budgetActions'>): Promise<CapOutcome> {
    if (!(await this.stopAwaiting(stopId, seen))) return { kind: 'not_paused' };
    if (!(await this.claim(stopId, { user, action: 'end' }))) return { kind: 'not_paused' };
    this.deps.followUntil(['terminated']);
    try {
      await this.deps.archive();
    } catch (error) {
      return this.failed(stopId, error, 'ending the session');
    }
    this.deps.log.info({ user }, 'session ended at its spend cap');
    return { kind: 'ended' };
  }

  /** The stop pressed on, if the session still waits at it and nobody pressed before. */
  private async stopAwaiting(stopId: string, seen: Pick<ThreadRecord, 'budgetActions'>): Promise<{ id: string; spentCents: number } | undefined> {
    const stop = await this.deps.ready().then(
      () => this.pausedAt(),
      () => undefined,
    );
    return stop && stop.id === stopId && !seen.budgetActions?.[stopId] ? stop : undefined;
  }

  private async claim(stopId: string, action: { user: string; action: 'raise' | 'end'; toCents?: number }): Promise<boolean> {
    let first = false;
    await this.deps.amend((r) => {
      if (r.budgetActions?.[stopId]) return;
      first = true;
      r.budgetActions = { ...r.budgetActions, [stopId]: { ...action, at: Date.now() } };
    });
    return first;
  }

  private async failed(stopId: string, error: unknown, doing: string): Promise<CapOutcome> {
    const problem = describeApiError(error, doing);
    this.deps.log.error({ err: error, requestId: problem.requestId }, `failed ${doing}`);
    this.deps.followUntil(undefined);
    // Forget the press so the buttons come back and someone can try again.
    await this.deps.amend((r) => {
      if (r.budgetActions) delete r.budgetActions[stopId];
    });
    return { kind: 'failed', words: problem.words };
  }
}
