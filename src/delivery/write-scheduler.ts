import { MemoryBudgetStore, type BudgetStore } from './budget-store.js';
import { bucketsFor, type Bucket } from './rate-budget.js';

/** Content (agent text, first posts) goes before status (root card and activity edits). */
export type Priority = 'content' | 'status';

type Waiter = { priority: number; seq: number; grant: () => void; fail: (e: unknown) => void };
/**
 * One budget's waiting writes in this process. `timer` runs until the lane's reserved token
 * is due (`reserved`), or until a store that failed is asked again.
 */
type Lane = { buckets: Bucket[]; waiters: Waiter[]; timer: NodeJS.Timeout | undefined; reserved: boolean; dueAt: number; pumping: boolean };

export type WriteRequest = { method: string; team: string; channel?: string; priority: Priority };

/** How long a lane waits before asking a budget store that failed (Redis away) again. */
const STORE_RETRY_MS = 500;

/**
 * The one gate every Slack write of the process passes. Each method (per workspace,
 * postMessage per channel and per workspace) has token buckets in a `BudgetStore`:
 * in memory for one process, in Redis when replicas share Slack's limits. A lane with
 * waiting writes reserves one token at a time and sleeps until it is due; the token then
 * goes to the lane's first waiter, content first, then in arrival order. Reservations are
 * served in the order they reach the store, so replicas' waiting writes take turns instead
 * of racing for each token as it refills. A 429 pauses only its own buckets. Timers are
 * owned here and cleared by close().
 */
export class WriteScheduler {
  private readonly lanes = new Map<string, Lane>();
  private readonly store: BudgetStore;
  private readonly now: () => number;
  private seq = 0;
  private closed = false;
  readonly counts = { granted: 0, waited: 0, paused: 0, storeErrors: 0 };

  private readonly onStoreError: (error: unknown) => void;
  private readonly onGranted: (method: string, waitedMs: number) => void;

  constructor(
    opts: {
      store?: BudgetStore;
      now?: () => number;
      onStoreError?: (error: unknown) => void;
      /** Every budgeted write, once granted, with how long it waited (for the write-wait metric). */
      onGranted?: (method: string, waitedMs: number) => void;
    } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.store = opts.store ?? new MemoryBudgetStore(this.now);
    this.onStoreError = opts.onStoreError ?? (() => undefined);
    this.onGranted = opts.onGranted ?? (() => undefined);
  }

  /** Resolves when the write may go out. Methods without a budget pass at once. */
  acquire(req: WriteRequest, signal?: AbortSignal): Promise<void> {
    const lane = this.laneFor(req);
    if (!lane) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('scheduler closed'));
    const asked = performance.now();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        priority: req.priority === 'content' ? 0 : 1,
        seq: this.seq++,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.counts.granted += 1;
          this.onGranted(req.method, performance.now() - asked);
          resolve();
        },
        fail: reject,
      };
      const onAbort = () => {
        lane.waiters = lane.waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.waiters.push(waiter);
      lane.waiters.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      if (lane.waiters.length > 1) this.counts.waited += 1;
      // A lane waiting for its timer asks the store again when the timer fires, not per new write.
      if (!lane.timer) void this.pump(lane);
    });
  }

  /** Could a write of this method go out right now without waiting? */
  available(req: Omit<WriteRequest, 'priority'>): number {
    const lane = this.laneFor({ ...req, priority: 'content' });
    if (!lane) return Number.POSITIVE_INFINITY;
    return Math.min(...lane.buckets.map((b) => this.store.available(b))) - lane.waiters.length;
  }

  /** Writes of this process waiting for a budget now (all lanes). */
  queued(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.waiters.length;
    return n;
  }

  /** The write was not needed after all (the content had already been delivered). */
  refund(req: Omit<WriteRequest, 'priority'>): void {
    const lane = this.laneFor({ ...req, priority: 'content' });
    if (!lane) return;
    void this.settleThenPump(lane, this.store.refund(lane.buckets));
  }

  /**
   * Slack answered 429 with Retry-After: this method (and only it) waits. Slack does not say
   * which of a post's limits ran out, its channel's or its workspace's, so both wait. A token
   * the lane had reserved for before the pause ends is given up: the lane reserves again.
   */
  rateLimited(req: Omit<WriteRequest, 'priority'>, retryAfterMs: number): void {
    const lane = this.laneFor({ ...req, priority: 'content' });
    if (!lane) return;
    this.counts.paused += 1;
    void this.settleThenPump(lane, this.store.pause(lane.buckets, retryAfterMs), this.now() + retryAfterMs);
  }

  close(): void {
    this.closed = true;
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
      // A token reserved and never used goes back: the other replicas' writes take it.
      if (lane.reserved) void this.store.refund(lane.buckets).catch(() => undefined);
      lane.reserved = false;
      for (const w of lane.waiters) w.fail(new Error('scheduler closed'));
      lane.waiters = [];
    }
  }

  private laneFor(req: WriteRequest): Lane | undefined {
    const buckets = bucketsFor(req.method, req.team, req.channel);
    const own = buckets[0];
    if (!own) return undefined;
    let lane = this.lanes.get(own.key);
    if (!lane) {
      lane = { buckets, waiters: [], timer: undefined, reserved: false, dueAt: 0, pumping: false };
      this.lanes.set(own.key, lane);
    }
    return lane;
  }

  /** After a refund or a pause: the lane asks again, unless it holds a reservation due after `pausedUntil`. */
  private async settleThenPump(lane: Lane, change: Promise<void>, pausedUntil = Number.NEGATIVE_INFINITY): Promise<void> {
    await change.catch((error: unknown) => this.storeFailed(error));
    if (this.closed || (lane.reserved && lane.dueAt >= pausedUntil)) return;
    clearTimeout(lane.timer);
    lane.timer = undefined;
    lane.reserved = false;
    await this.pump(lane);
  }

  /** Reserves a token for the lane's first waiter, grants it if it is there now, and so on; else sleeps until it is due. */
  private async pump(lane: Lane): Promise<void> {
    if (lane.pumping || lane.reserved) return;
    lane.pumping = true;
    try {
      while (lane.waiters.length > 0 && !this.closed) {
        let ms: number;
        try {
          ms = await this.store.reserve(lane.buckets);
        } catch (error) {
          this.storeFailed(error);
          if (!this.closed) this.wakeLater(lane, STORE_RETRY_MS, false);
          return;
        }
        if (this.closed) {
          await this.store.refund(lane.buckets).catch((error: unknown) => this.storeFailed(error));
          return;
        }
        if (ms > 0) {
          this.wakeLater(lane, ms, true);
          return;
        }
        if (!(await this.grantFirst(lane))) return;
      }
    } finally {
      lane.pumping = false;
    }
  }

  /** The reserved token to the lane's first waiter; every waiter gave up (aborted) meanwhile: back to the store. */
  private async grantFirst(lane: Lane): Promise<boolean> {
    const waiter = lane.waiters.shift();
    if (waiter) {
      waiter.grant();
      return true;
    }
    await this.store.refund(lane.buckets).catch((error: unknown) => this.storeFailed(error));
    return false;
  }

  private wakeLater(lane: Lane, ms: number, reserved: boolean): void {
    clearTimeout(lane.timer);
    lane.reserved = reserved;
    lane.dueAt = this.now() + ms;
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        const held = lane.reserved;
        lane.reserved = false;
        if (this.closed) return;
        void this.woken(lane, held);
      },
      Math.max(1, ms),
    );
  }

  /** The lane's timer ran: its reserved token is due (granted now), or the store is asked again. */
  private async woken(lane: Lane, reserved: boolean): Promise<void> {
    if (reserved && !(await this.grantFirst(lane))) return;
    await this.pump(lane);
  }

  private storeFailed(error: unknown): void {
    this.counts.storeErrors += 1;
    this.onStoreError(error);
  }
}
