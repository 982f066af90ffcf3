import { threadKey, type ThreadRecord } from '../store/thread-records.js';
import { SessionRunner, type RunnerDeps } from './session-runner.js';

/**
 * The live session runners, one per thread. A finished thread keeps no runner in memory:
 * the next reply rebuilds its state from the session history.
 */
export class Runners {
  private readonly runners = new Map<string, SessionRunner>();
  private readonly evictions = new Set<Promise<unknown>>();
  private readonly evicting = new WeakSet<SessionRunner>();
  private closing = false;

  constructor(private readonly deps: RunnerDeps) {}

  /** Set by close before it waits: no runner is made after that. */
  get closed(): boolean {
    return this.closing;
  }

  /** The thread's runner, made on first use. */
  for(record: ThreadRecord & { sessionId: string }): SessionRunner {
    if (this.closing) throw new Error('bridge closed');
    const key = threadKey(record);
    let runner = this.runners.get(key);
    if (!runner) {
      runner = new SessionRunner(record, this.deps, (quiet) => this.evictLater(key, quiet));
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

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.runners.values()].map((r) => r.close()));
    this.runners.clear();
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
        await runner.close();
      })
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'could not release an idle session runner'))
      .finally(() => {
        this.evictions.delete(eviction);
        this.evicting.delete(runner);
      });
    this.evictions.add(eviction);
  }
}
