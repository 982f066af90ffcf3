import { setMaxListeners } from 'node:events';
import type { WriteGuard } from '../delivery/slack-writer.js';

/** A write to a thread this replica no longer holds the lease of: refused before it leaves the process. */
export class LeaseLostError extends Error {
  constructor(readonly thread: string) {
    super(`this replica no longer holds the lease of ${thread}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The fence of one runner's writes: open while this replica holds the thread's lease and
 * the runner lives. It is asked at the moment a write would leave (SlackWriter checks it
 * before each attempt is sent, the records after the record's lock is taken), not when
 * the runner asks for the write: a write can wait seconds for budget, and a replica
 * paused past its lease (a GC pause, SIGSTOP, a frozen VM) finds the fence shut by the
 * clock as soon as it runs again. `close` shuts it for good and aborts every write still
 * waiting for budget.
 */
export class LeaseFence implements WriteGuard {
  private readonly shut = new AbortController();

  constructor(
    readonly thread: string,
    /** Whether the lease is held and valid now (Leases.mayWrite: its deadline is read from the clock). */
    private readonly held: () => boolean,
  ) {
    // Every write of the runner waiting for budget listens on this one signal.
    setMaxListeners(0, this.shut.signal);
  }

  get signal(): AbortSignal {
    return this.shut.signal;
  }

  allows(): boolean {
    if (this.shut.signal.aborted) return false;
    if (this.held()) return true;
    this.close();
    return false;
  }

  /** The lease is gone (or the runner is): nothing more goes out, and what waits gives up now. */
  close(): void {
    if (!this.shut.signal.aborted) this.shut.abort(new LeaseLostError(this.thread));
  }
}

/**
 * `target` (whose methods are all async) with every method call checked against the
 * fence first (except `reads`), and `update`'s change checked again under the record's
 * lock, just before it is written: once the lease is gone, a runner that is still
 * winding down cannot change the thread's record, so the replica that took the thread
 * over is the only writer.
 */
export function fenced<T extends object>(target: T, fence: LeaseFence, reads: readonly string[] = []): T {
  return new Proxy(target, {
    get(t, property) {
      const value: unknown = Reflect.get(t, property, t);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && reads.includes(property)) return value.bind(t);
      return (...args: unknown[]) => {
        // Every fenced method is async: refused as a rejection, like a failed call.
        if (!fence.allows()) return Promise.reject(new LeaseLostError(fence.thread));
        if (property === 'update' && typeof args[1] === 'function') {
          const change = args[1] as (...a: unknown[]) => unknown;
          args[1] = (...a: unknown[]) => {
            if (!fence.allows()) throw new LeaseLostError(fence.thread);
            return change(...a);
          };
        }
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}
