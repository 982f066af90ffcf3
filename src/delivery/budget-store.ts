import { freshState, pausedState, refunded, reserveAll, tokensNow, type Bucket, type BucketState } from './rate-budget.js';

/**
 * Where the write scheduler's token buckets live. Slack counts per app and workspace, not
 * per process: one process keeps them in memory; replicas share them in Redis
 * (`RedisBudgetStore`), so together they stay inside the limits one process keeps.
 * Priorities stay in each process's scheduler; the tokens, and the order in which waiting
 * writes get them, are shared.
 */
export interface BudgetStore {
  /**
   * One token from every bucket, reserved at the earliest time all of them have one: resolves
   * with how long until then (0: now). The token is the caller's from then on, first come
   * first served across replicas: it is used then, or refunded.
   */
  reserve(buckets: readonly Bucket[]): Promise<number>;
  refund(buckets: readonly Bucket[]): Promise<void>;
  /** Slack answered 429: these buckets give nothing for `ms`. */
  pause(buckets: readonly Bucket[], ms: number): Promise<void>;
  /** Tokens there now as far as this process knows (exact in memory, the last answer in Redis). */
  available(bucket: Bucket): number;
  close(): Promise<void>;
}

/** The buckets of one process, on its own clock. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly states = new Map<string, BucketState>();

  constructor(private readonly now: () => number = Date.now) {}

  reserve(buckets: readonly Bucket[]): Promise<number> {
    const now = this.now();
    const { at, states } = reserveAll(
      buckets.map((b) => this.state(b, now)),
      buckets,
      now,
    );
    for (const [i, b] of buckets.entries()) this.states.set(b.key, states[i]!);
    return Promise.resolve(at - now);
  }

  refund(buckets: readonly Bucket[]): Promise<void> {
    const now = this.now();
    for (const b of buckets) this.states.set(b.key, refunded(this.state(b, now), b, now));
    return Promise.resolve();
  }

  pause(buckets: readonly Bucket[], ms: number): Promise<void> {
    const now = this.now();
    for (const b of buckets) this.states.set(b.key, pausedState(this.state(b, now), now + ms, now));
    return Promise.resolve();
  }

  available(bucket: Bucket): number {
    const now = this.now();
    return tokensNow(this.state(bucket, now), bucket, now);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private state(bucket: Bucket, now: number): BucketState {
    return this.states.get(bucket.key) ?? freshState(bucket, now);
  }
}
