/**
 * Work per thread, one piece at a time, in the order it was queued. A piece that fails
 * does not stop the ones behind it (its caller gets the error).
 */
export class ThreadQueues {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Whether something of this thread is running or waiting. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
