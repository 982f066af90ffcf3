import { fenced, LeaseFence, LeaseLostError } from '../replicas/fence.js';
import type { Claim, Leases } from '../replicas/leases.js';
import { refOfThreadKey } from '../replicas/takeovers.js';
import { threadKey, type ThreadRecord, type ThreadRef } from '../store/thread-records.js';
import type { RunnerDeps } from './runner/runner-deps.js';
import { SessionRunner } from './session-runner.js';

/** What a runner of a leased thread may still read once its lease is gone (writes are refused). */
const RECORD_READS = ['get', 'activeRefs', 'activeRefsOf', 'pendingStarts', 'threadOfMessage', 'wasPruned'] as const;

/**
 * The live session runners, one per thread. A finished thread keeps no runner in memory:
 * the next reply rebuilds its state from the session history.
 *
 * With several replicas (`leases`), a runner exists only where its thread's lease is
 * held: claimed before the runner is made (`claim`, under `using`), given back when the
 * runner is dropped as idle, handed over to the other replicas on shutdown. A runner's
 * Slack and record writes are fenced by the lease (LeaseFence, checked as each write goes
 * out), and a lease lost (not renewed in time, or taken) shuts the fence, which aborts
 * every write still waiting for budget, and closes the runner at once, without the
 * grace a clean shutdown gives its last writes.
 */
export class Runners {
  private readonly runners = new Map<string, SessionRunner>();
  private readonly evictions = new Set<Promise<unknown>>();
  private readonly evicting = new WeakSet<SessionRunner>();
  /** Intents in flight per thread that may make its runner: its lease is not given back under them. */
  private readonly uses = new Map<string, number>();
  /** Each leased runner's fence, shut when its lease is lost or the runner is closed. */
  private readonly fences = new WeakMap<SessionRunner, LeaseFence>();
  private closing = false;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly leases?: Leases,
  ) {
    if (leases) leases.onLost = (key) => this.drop(key);
  }

  /** Set by close before it waits: no runner is made after that. */
  get closed(): boolean {
    return this.closing;
  }

  /** Whether this process follows threads under leases (several replicas on one Redis). */
  get leased(): boolean {
    return this.leases !== undefined;
  }

  /** Whether this replica has a runner for the thread now. */
  has(ref: ThreadRef): boolean {
    return this.runners.has(threadKey(ref));
  }

  /** This replica's claim on the thread: always its own without leases. */
  claim(ref: ThreadRef): Promise<Claim> {
    return this.leases ? this.leases.claim(threadKey(ref)) : Promise.resolve({ kind: 'mine' });
  }

  /** Whether this replica holds the thread (always, without leases). */
  holds(ref: ThreadRef): boolean {
    return this.leases ? this.leases.mayWrite(threadKey(ref)) : true;
  }

  /**
   * Runs work that claims the thread and may make its runner; when it is over and no
   * runner came of it (nothing to follow), the lease is given back.
   */
  async using<T>(ref: ThreadRef, work: () => Promise<T>): Promise<T> {
    const key = threadKey(ref);
    this.uses.set(key, (this.uses.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.uses.get(key) ?? 1) - 1;
      if (left > 0) this.uses.set(key, left);
      else this.uses.delete(key);
      this.releaseIfUnused(key);
    }
  }

  /** The thread's runner, made on first use; none once the bridge is closing (no runner is made then). */
  for(record: ThreadRecord & { sessionId: string }): SessionRunner | undefined {
    if (this.closing) return undefined;
    const key = threadKey(record);
    let runner = this.runners.get(key);
    if (!runner) {
      const fence = this.leases ? new LeaseFence(key, () => this.leases?.mayWrite(key) ?? false) : undefined;
      runner = new SessionRunner(record, fence ? this.fencedDeps(fence) : this.deps, (quiet) => this.evictLater(key, quiet));
      if (fence) this.fences.set(runner, fence);
      this.runners.set(key, runner);
    }
    return runner;
  }

  /** Runners currently held in memory (live or settling threads). */
  get size(): number {
    return this.runners.size;
  }

  /** How many runners hold a thread of each status (the sessions metric). */
  states(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const runner of this.runners.values()) counts[runner.status] = (counts[runner.status] ?? 0) + 1;
    return counts;
  }

  /** For tests and shutdown: every runner's Slack writes are done. */
  async settled(): Promise<void> {
    do {
      await Promise.all([...this.runners.values()].map((r) => r.settled()));
      await Promise.all([...this.evictions]);
    } while (this.evictions.size > 0);
  }

  /** No runner is made from now on; returns the evictions still in flight (close waits for them). */
  stopMaking(): Promise<unknown>[] {
    this.closing = true;
    return [...this.evictions];
  }

  /** Closes every runner; the leases still held go to the other replicas (`handOver`), or are left to lapse. */
  async close(o: { handOver: boolean } = { handOver: true }): Promise<void> {
    this.closing = true;
    await Promise.all([...this.runners.values()].map((r) => this.closeRunner(r)));
    this.runners.clear();
    if (this.leases && o.handOver) await Promise.all(this.leases.held().map((key) => this.leases?.release(key, 'hand-over')));
  }

  /**
   * The lease is gone: the runner stops now, and what it still had waiting is abandoned (its
   * writes are refused). The thread's native status and Home entry here are forgotten,
   * unwritten: they are dropped only at a finished state otherwise, and the replica
   * following the thread now keeps them.
   */
  private drop(key: string): void {
    const ref = refOfThreadKey(key);
    if (ref) this.deps.watch?.forget(ref);
    const runner = this.runners.get(key);
    if (!runner) return;
    this.runners.delete(key);
    this.fences.get(runner)?.close();
    const dropped = runner
      .close({ grace: false })
      .then(() => {
        this.deps.log.info({ thread: key }, 'closed the runner of a thread whose lease was lost; its waiting writes were not sent');
        // What the runner folded as it closed came after the first forget.
        if (ref) this.deps.watch?.forget(ref);
      })
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'could not close the runner of a thread whose lease was lost'))
      .finally(() => this.evictions.delete(dropped));
    this.evictions.add(dropped);
  }

  /** A runner closed with its grace; its fence shuts after, so nothing it left waiting goes out later. */
  private async closeRunner(runner: SessionRunner): Promise<void> {
    try {
      await runner.close();
    } finally {
      this.fences.get(runner)?.close();
    }
  }

  private fencedDeps(fence: LeaseFence): RunnerDeps {
    return {
      ...this.deps,
      writer: this.deps.writer.guarded(fence),
      records: fenced(this.deps.records, fence, RECORD_READS),
      react: (channel, ts, name, urgency) =>
        fence.allows() ? this.deps.react(channel, ts, name, urgency, fence) : Promise.reject(new LeaseLostError(fence.thread)),
    };
  }

  private releaseIfUnused(key: string): void {
    if (!this.leases || this.runners.has(key) || this.uses.has(key) || this.closing) return;
    const released = this.leases.release(key, 'done').finally(() => this.evictions.delete(released));
    this.evictions.add(released);
  }

  /** Only a runner still quiet after its writes settle is dropped. */
  private evictLater(key: string, runner: SessionRunner): void {
    if (this.evicting.has(runner)) return;
    this.evicting.add(runner);
    const eviction = runner
      .settled()
      .then(async () => {
        if (!runner.quiet || this.runners.get(key) !== runner) return;
        this.runners.delete(key);
        await this.closeRunner(runner);
        this.releaseIfUnused(key);
      })
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'could not release an idle session runner'))
      .finally(() => {
        this.evictions.delete(eviction);
        this.evicting.delete(runner);
      });
    this.evictions.add(eviction);
  }
}
