import type { Logger } from '../ops/logger.js';
import { CoalescingLoop } from './coalescing-loop.js';

/**
 * What a writer keeps per thread (the native status, the Home board), each entry with a
 * coalescing loop of its own. The loop is made with the entry and closed whenever the entry
 * goes, so no timer outlives the thread it writes for.
 */
export class ThreadLoops<T extends { loop: CoalescingLoop }> {
  private readonly threads = new Map<string, T>();

  get size(): number {
    return this.threads.size;
  }

  get(key: string): T | undefined {
    return this.threads.get(key);
  }

  entries(): IterableIterator<[string, T]> {
    return this.threads.entries();
  }

  /** The thread's entry, made with its loop when it has none: the loop runs `pass`, and `idle` once it has nothing left to do. */
  ensure(key: string, o: { make: (loop: CoalescingLoop) => T; pass: (thread: T) => Promise<void>; idle: (thread: T) => void; log: Logger }): T {
    const known = this.threads.get(key);
    if (known) return known;
    let made: T | undefined;
    const loop = new CoalescingLoop(
      () => (made ? o.pass(made) : Promise.resolve()),
      o.log,
      () => made && o.idle(made),
    );
    made = o.make(loop);
    this.threads.set(key, made);
    return made;
  }

  /** The entry goes and its loop is closed; with `only`, just when the entry is still that one (not a newer one for the thread). */
  drop(key: string, only?: T): void {
    const thread = this.threads.get(key);
    if (!thread || (only !== undefined && thread !== only)) return;
    thread.loop.close();
    this.threads.delete(key);
  }

  clear(): void {
    for (const thread of this.threads.values()) thread.loop.close();
    this.threads.clear();
  }

  /** Every pass under way has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.threads.values()].map((t) => t.loop.settled()));
  }
}
