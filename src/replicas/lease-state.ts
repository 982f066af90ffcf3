/**
 * The lease of one thread at one replica, as data: which replica follows a session's
 * events and writes its thread. Pure: the Redis calls are made by leases.ts, which feeds
 * their outcomes in here and asks what to do next.
 *
 * A lease is valid here until `sentAt + leaseMs - marginMs`, `sentAt` being when the
 * request that set or renewed it left this process: Redis started its deadline later than
 * that, so this replica stops writing before Redis lets another take the thread, with
 * `marginMs` for a write already on its way and for clocks that run at slightly different
 * rates. A renewal Redis refuses (the lease went to another replica) ends it at once; a
 * renewal that fails (Redis unreachable) leaves it until its deadline, then it ends.
 */

export type LeaseTimes = {
  /** How long a lease lives in Redis without a renewal (LEASE_MS). */
  leaseMs: number;
  /** Renewed this often while held: a third of leaseMs, so two renewals may fail before it lapses. */
  renewEveryMs: number;
  /** Writes stop this long before the lease could lapse in Redis. */
  marginMs: number;
};

export function leaseTimes(leaseMs: number): LeaseTimes {
  return { leaseMs, renewEveryMs: Math.floor(leaseMs / 3), marginMs: Math.floor(leaseMs / 10) };
}

export type LeaseState = { kind: 'unheld' } | { kind: 'held'; validUntil: number; renewAt: number } | { kind: 'lost'; reason: LostReason };

export type LostReason = 'taken' | 'lapsed' | 'released';

export type LeaseEvent =
  /** SET NX (or our own renewal) succeeded for a request sent at `sentAt`. */
  | { kind: 'granted'; sentAt: number }
  /** Another replica holds it (on acquire) or took it (on renewal). */
  | { kind: 'refused' }
  /** The request failed in transport: nothing is known, the old deadline stands. */
  | { kind: 'failed'; at: number }
  /** Time passed (the renewal timer). */
  | { kind: 'tick'; now: number }
  /** We gave it back. */
  | { kind: 'released' };

export function step(state: LeaseState, event: LeaseEvent, times: LeaseTimes): LeaseState {
  switch (event.kind) {
    case 'granted':
      // A late answer to a request made before the lease was given up changes nothing.
      if (state.kind === 'lost') return state;
      return {
        kind: 'held',
        validUntil: event.sentAt + times.leaseMs - times.marginMs,
        renewAt: event.sentAt + times.renewEveryMs,
      };
    case 'refused':
      return state.kind === 'held' ? { kind: 'lost', reason: 'taken' } : state.kind === 'lost' ? state : { kind: 'unheld' };
    case 'failed':
    case 'tick': {
      if (state.kind !== 'held') return state;
      const now = event.kind === 'tick' ? event.now : event.at;
      return now >= state.validUntil ? { kind: 'lost', reason: 'lapsed' } : state;
    }
    case 'released':
      return state.kind === 'held' ? { kind: 'lost', reason: 'released' } : state;
  }
}

/** Whether this replica may write the thread now (the fence of its Slack and record writes). */
export function mayWrite(state: LeaseState, now: number): boolean {
  return state.kind === 'held' && now < state.validUntil;
}

/** Whether the renewal is due (held, and its time has come). */
export function renewDue(state: LeaseState, now: number): boolean {
  return state.kind === 'held' && now >= state.renewAt && now < state.validUntil;
}
