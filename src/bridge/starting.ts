import { threadKey, type ThreadRef } from '../store/thread-records.js';

/**
 * Threads whose session is being created: a reply, a click or a stop that arrives
 * meanwhile waits for it, and a second mention in the same thread becomes a reply.
 */
export class Starting {
  private readonly byThread = new Map<string, Promise<unknown>>();

  has(ref: ThreadRef): boolean {
    return this.byThread.has(threadKey(ref));
  }

  /** The start in flight in this thread, if any (its failure is not the waiter's). */
  async wait(ref: ThreadRef): Promise<void> {
    await this.byThread.get(threadKey(ref))?.catch(() => undefined);
  }

  /**
   * Runs `work` after the start already in flight in this thread (if any) and registers
   * it before any await, so a start racing it waits in turn.
   */
  async chain<T>(ref: ThreadRef, work: () => Promise<T>): Promise<T> {
    const key = threadKey(ref);
    const previous = this.byThread.get(key);
    const run = (async () => {
      if (previous) await previous.catch(() => undefined);
      return work();
    })();
    this.byThread.set(key, run);
    try {
      return await run;
    } finally {
      if (this.byThread.get(key) === run) this.byThread.delete(key);
    }
  }

  /** A start whose thread is only known now (/agent posts its own root): registered unless one already is. */
  adopt(ref: ThreadRef, begun: Promise<unknown>): void {
    const key = threadKey(ref);
    if (this.byThread.has(key)) return;
    this.byThread.set(key, begun);
    void begun.finally(() => this.byThread.get(key) === begun && this.byThread.delete(key)).catch(() => undefined);
  }

  /** Every start in flight (close waits for them, within its grace). */
  current(): Promise<unknown>[] {
    return [...this.byThread.values()];
  }
}
