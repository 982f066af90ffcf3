import type { Logger } from '../ops/logger.js';
import type { Redis } from '../store/redis/connection.js';
import { type LeaseEvent, type LeaseState, type LeaseTimes, mayWrite, renewDue, step } from './lease-state.js';

/**
 * Sets the lease if nobody holds it, or moves its deadline if we do; either way the
 * deadline goes into the sorted set that replicas scan for leases nobody renews.
 * KEYS: lease, deadlines. ARGV: holder, leaseMs, deadline, member. 1: ours now; 0: another's.
 */
const ACQUIRE_SCRIPT = `
local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if not ok then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`;

/**
 * Moves the deadline of each lease we still hold, many in one call (one round trip per
 * renewal tick, however many threads this replica holds). KEYS: deadlines, then the leases.
 * ARGV: holder, leaseMs, deadline, then one member per lease. Per lease, 1: renewed; 0:
 * another replica has it (or nobody: it lapsed).
 */
const RENEW_MANY_SCRIPT = `
local renewed = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[i + 2])
    renewed[#renewed + 1] = 1
  else
    renewed[#renewed + 1] = 0
  end
end
return renewed`;

/** Leases renewed by one script call at most: Redis runs nothing else while a script runs. */
export const RENEW_BATCH = 500;

/**
 * Gives a lease back if it is still ours. ARGV[3] = 'done': the session needs no follower
 * (its deadline entry goes); 'hand-over': it still does (shutdown with a turn running), so
 * its deadline is set to 0 and the next scan of any replica takes it at once.
 */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[3] == 'done' then redis.call('ZREM', KEYS[2], ARGV[2]) else redis.call('ZADD', KEYS[2], 0, ARGV[2]) end
return 1`;

/** Drops a deadline entry whose lease nobody holds (its thread needed nobody after all). */
const FORGET_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])`;

export type Claim = { kind: 'mine' } | { kind: 'theirs'; holder: string };

/**
 * This replica's leases, one per thread it follows (key: the thread key). A lease is
 * `SET <prefix>lease:<thread> <holder> NX PX <leaseMs>`, renewed at a third of leaseMs by
 * one timer for all of them; the state of each is the pure machine in lease-state.ts.
 * When one is lost (refused on renewal, or not renewed before its deadline) `onLost` is
 * told at once, and `mayWrite` is false from that moment.
 */
export class Leases {
  private readonly states = new Map<string, LeaseState>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private renewingNow = false;
  /** Set by the bridge: a thread this replica must stop following and writing now. */
  onLost: (key: string) => void = () => undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly holder: string,
    readonly times: LeaseTimes,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private leaseKey(key: string): string {
    return `${this.prefix}lease:${key}`;
  }

  private get deadlinesKey(): string {
    return `${this.prefix}lease-deadlines`;
  }

  /** Starts renewing; one timer for every lease this replica holds. */
  start(): void {
    this.timer ??= setInterval(
      () => {
        // A renewal still waiting for Redis: this tick is skipped, not queued behind it (a
        // stalled Redis would otherwise pile a renewal up per tick and fire them all at once).
        if (this.renewingNow) return;
        this.renewingNow = true;
        this.renewing = this.renewAll().finally(() => {
          this.renewingNow = false;
        });
      },
      Math.max(1, Math.floor(this.times.renewEveryMs / 3)),
    );
    this.timer.unref();
  }

  /** Ours already, or taken now; otherwise who holds it. */
  async claim(key: string): Promise<Claim> {
    if (this.mayWrite(key)) return { kind: 'mine' };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const sentAt = this.now();
      const granted = await this.redis.eval(ACQUIRE_SCRIPT, {
        keys: [this.leaseKey(key), this.deadlinesKey],
        arguments: [this.holder, String(this.times.leaseMs), String(sentAt + this.times.leaseMs), key],
      });
      if (granted === 1) {
        this.states.set(key, step({ kind: 'unheld' }, { kind: 'granted', sentAt }, this.times));
        return { kind: 'mine' };
      }
      const holder = await this.redis.get(this.leaseKey(key));
      // Lapsed between the two calls: try again.
      if (holder !== null) return { kind: 'theirs', holder };
    }
    throw new Error(`could not claim the lease of ${key}`);
  }

  mayWrite(key: string): boolean {
    const state = this.states.get(key);
    return state !== undefined && mayWrite(state, this.now());
  }

  /** Who holds a thread's lease now, if anyone. */
  holderOf(key: string): Promise<string | null> {
    return this.redis.get(this.leaseKey(key));
  }

  /** Gives a lease back: `done` when the thread needs no follower, `hand-over` when another replica should take it now. */
  async release(key: string, how: 'done' | 'hand-over'): Promise<void> {
    const state = this.states.get(key);
    this.states.delete(key);
    if (state?.kind !== 'held') return;
    await this.redis
      .eval(RELEASE_SCRIPT, { keys: [this.leaseKey(key), this.deadlinesKey], arguments: [this.holder, key, how] })
      .catch((error: unknown) => {
        // It lapses by itself then, and is taken over like a crashed replica's.
        this.log.warn({ err: error, thread: key }, 'could not give a lease back');
      });
  }

  /**
   * Up to `limit` threads whose lease deadline has passed (their holder stopped renewing, or
   * handed them over), from a random place in the lapsed ones and shuffled: the replicas
   * scanning for them after one died each start somewhere else, instead of all racing for
   * the same first ones.
   */
  async lapsed(limit = 50, random: () => number = Math.random): Promise<string[]> {
    const now = this.now();
    const count = await this.redis.zCount(this.deadlinesKey, '-inf', now);
    if (count === 0) return [];
    const offset = count > limit ? Math.floor(random() * count) : 0;
    const range = (from: number, n: number) => this.redis.zRangeByScore(this.deadlinesKey, '-inf', now, { LIMIT: { offset: from, count: n } });
    const keys = await range(offset, limit);
    // Past the end: the rest of the window from the start (the set is read as a ring).
    if (keys.length < limit && offset > 0) keys.push(...(await range(0, Math.min(limit - keys.length, offset))));
    for (let i = keys.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
    }
    return keys;
  }

  /** How a lapsed thread came to be without a holder: given back on shutdown (deadline 0), or its holder stopped renewing. */
  async howLapsed(key: string): Promise<'handed_over' | 'lapsed'> {
    return (await this.redis.zScore(this.deadlinesKey, key)) === 0 ? 'handed_over' : 'lapsed';
  }

  /** Drops a lapsed entry whose thread turned out to need no follower. */
  async forget(key: string): Promise<void> {
    await this.redis.eval(FORGET_SCRIPT, { keys: [this.leaseKey(key), this.deadlinesKey], arguments: [key] });
  }

  /** The threads this replica holds now. */
  held(): string[] {
    return [...this.states].flatMap(([key, state]) => (mayWrite(state, this.now()) ? [key] : []));
  }

  /** Stops renewing. Leases not released lapse in Redis after leaseMs and are taken over. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }

  /** Stops renewing and writing at once, releasing nothing: what a replica killed mid-turn leaves behind (tests). */
  async abandon(): Promise<void> {
    await this.close();
    for (const key of this.states.keys()) this.states.set(key, { kind: 'lost', reason: 'lapsed' });
  }

  private async renewAll(): Promise<void> {
    const now = this.now();
    const due: string[] = [];
    for (const [key, state] of [...this.states]) {
      const next = step(state, { kind: 'tick', now }, this.times);
      this.apply(key, next);
      if (renewDue(next, now)) due.push(key);
    }
    for (let i = 0; i < due.length; i += RENEW_BATCH) {
      const batch = due.slice(i, i + RENEW_BATCH);
      const events = await this.renew(batch);
      batch.forEach((key, j) => {
        // Released or lost meanwhile: the answer changes nothing.
        const state = this.states.get(key);
        const event = events[j];
        if (state && event) this.apply(key, step(state, event, this.times));
      });
    }
  }

  /** One script call for the leases `keys`: an event for each. */
  private async renew(keys: string[]): Promise<LeaseEvent[]> {
    const sentAt = this.now();
    try {
      const renewed = (await this.redis.eval(RENEW_MANY_SCRIPT, {
        keys: [this.deadlinesKey, ...keys.map((key) => this.leaseKey(key))],
        arguments: [this.holder, String(this.times.leaseMs), String(sentAt + this.times.leaseMs), ...keys],
      })) as number[];
      return keys.map((_, i) => (renewed[i] === 1 ? { kind: 'granted', sentAt } : { kind: 'refused' }));
    } catch (error) {
      this.log.warn({ err: error, threads: keys.length }, 'could not renew leases');
      const at = this.now();
      return keys.map(() => ({ kind: 'failed', at }));
    }
  }

  private apply(key: string, next: LeaseState): void {
    // Released meanwhile (the runner went quiet): nothing to do.
    if (!this.states.has(key)) return;
    if (next.kind === 'lost') {
      this.states.delete(key);
      this.log.warn({ thread: key, reason: next.reason }, 'lost the lease of a thread; it stops here');
      this.onLost(key);
      return;
    }
    this.states.set(key, next);
  }
}
