import { bucketKey, budgetFor, TokenBucket } from './rate-budget.js';

/** Content (agent text, first posts) goes before status (root card and activity edits). */
export type Priority = 'content' | 'status';

type Waiter = { priority: number; seq: number; grant: () => void; fail: (e: unknown) => void };
type Lane = { bucket: TokenBucket; waiters: Waiter[]; timer: NodeJS.Timeout | undefined };

export type WriteRequest = { method: string; team: string; channel?: string; priority: Priority };

/**
 * The one gate every Slack write of the process passes. Each method (per workspace,
 * postMessage per channel) has a token bucket; waiting writes are granted content
 * first, then in arrival order. A 429 pauses only its own bucket. Timers are owned
 * here and cleared by close().
 */
export class WriteScheduler {
  private readonly lanes = new Map<string, Lane>();
  private seq = 0;
  private closed = false;
  readonly counts = { granted: 0, waited: 0, paused: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** Resolves when the write may go out. Methods without a budget pass at once. */
  acquire(req: WriteRequest, signal?: AbortSignal): Promise<void> {
    const lane = this.laneFor(req);
    if (!lane) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('scheduler closed'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        priority: req.priority === 'content' ? 0 : 1,
        seq: this.seq++,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.counts.granted += 1;
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
      this.pump(lane);
    });
  }

  /** Could a write of this method go out right now without waiting? */
  available(req: Omit<WriteRequest, 'priority'>): number {
    const lane = this.laneFor({ ...req, priority: 'content' });
    return lane ? lane.bucket.available(this.now()) - lane.waiters.length : Number.POSITIVE_INFINITY;
  }

  /** The write was not needed after all (the content had already been delivered). */
  refund(req: Omit<WriteRequest, 'priority'>): void {
    const lane = this.laneFor({ ...req, priority: 'content' });
    if (!lane) return;
    lane.bucket.refund(this.now());
    this.pump(lane);
  }

  /** Slack answered 429 with Retry-After: this method (and only it) waits. */
  rateLimited(req: Omit<WriteRequest, 'priority'>, retryAfterMs: number): void {
    const lane = this.laneFor({ ...req, priority: 'content' });
    if (!lane) return;
    this.counts.paused += 1;
    lane.bucket.pause(this.now() + retryAfterMs, this.now());
    this.pump(lane);
  }

  close(): void {
    this.closed = true;
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.timer);
      for (const w of lane.waiters) w.fail(new Error('scheduler closed'));
      lane.waiters = [];
    }
  }

  private laneFor(req: WriteRequest): Lane | undefined {
    const budget = budgetFor(req.method);
    if (!budget) return undefined;
    const key = bucketKey(req.method, budget, req.team, req.channel);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { bucket: new TokenBucket(budget, this.now()), waiters: [], timer: undefined };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private pump(lane: Lane): void {
    while (lane.waiters.length > 0 && lane.bucket.take(this.now())) lane.waiters.shift()!.grant();
    clearTimeout(lane.timer);
    lane.timer = undefined;
    if (lane.waiters.length > 0 && !this.closed) {
      const wait = Math.max(1, lane.bucket.readyAt(this.now()) - this.now());
      lane.timer = setTimeout(() => this.pump(lane), wait);
    }
  }
}
