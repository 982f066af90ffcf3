/** A write to a thread this replica no longer holds the lease of: refused before it leaves the process. */
export class LeaseLostError extends Error {
  constructor(readonly thread: string) {
    super(`this replica no longer holds the lease of ${thread}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * `target` (whose methods are all async) with every method call checked against `mayWrite` first (except `reads`): once
 * the lease is gone, a runner that is still winding down can neither post to Slack nor
 * change the thread's record, so the replica that took the thread over is the only writer.
 */
export function fenced<T extends object>(target: T, thread: string, mayWrite: () => boolean, reads: readonly string[] = []): T {
  return new Proxy(target, {
    get(t, property) {
      const value: unknown = Reflect.get(t, property, t);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && reads.includes(property)) return value.bind(t);
      return (...args: unknown[]) => {
        // Every fenced method is async: refused as a rejection, like a failed call.
        if (!mayWrite()) return Promise.reject(new LeaseLostError(thread));
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}
