import type { Logger } from '../ops/logger.js';
import type { ThreadRef } from '../store/thread-records.js';
import type { Leases } from './leases.js';

export type Takeovers = { close(): Promise<void> };

/**
 * Catch-ups one replica runs at once when it takes threads over. Each reads a session's
 * events from the API and writes its thread through the shared Slack budget, so fifty at
 * once only queue behind each other there and every thread waits for the slowest; a few at
 * a time catches the first threads up soonest, and the lapsed threads this replica has not
 * claimed yet stay free for the other replicas' scans, which spreads a dead replica's
 * threads over the survivors.
 */
export const CATCH_UPS_AT_ONCE = 4;

/**
 * Every `everyMs`, the threads whose lease nobody renewed (their replica died, or handed
 * them over on shutdown) are offered to `takeOver`, which claims each and catches it up;
 * of several replicas scanning, the lease lets exactly one have each thread.
 */
export function startTakeovers(o: {
  leases: Leases;
  everyMs: number;
  takeOver: (ref: ThreadRef) => Promise<boolean>;
  /** Also at every pass: work a dead replica may have left besides threads (starts being made). */
  alsoEachPass?: () => Promise<unknown>;
  log: Logger;
  now?: () => number;
}): Takeovers {
  let closed = false;
  let pass: Promise<void> = Promise.resolve();
  const now = o.now ?? Date.now;
  const scan = async () => {
    if (closed) return;
    let keys: string[];
    try {
      keys = await o.leases.lapsed();
    } catch (error) {
      o.log.warn({ err: error }, 'could not look for threads whose replica stopped');
      return;
    }
    await o.alsoEachPass?.().catch((error: unknown) => o.log.warn({ err: error }, 'could not finish what a stopped replica left'));
    await eachAtMost(CATCH_UPS_AT_ONCE, keys, async (key) => {
      if (closed) return;
      const ref = refOfThreadKey(key);
      if (!ref) return void (await o.leases.forget(key).catch(() => undefined));
      const started = now();
      try {
        if (await o.takeOver(ref))
          o.log.info({ thread: key, catchUpMs: now() - started }, 'took over a thread whose replica stopped renewing its lease');
      } catch (error) {
        o.log.error({ err: error, thread: key }, 'could not take over a thread');
      }
    });
  };
  let scanning = false;
  const timer = setInterval(() => {
    // A pass still taking threads over: this tick is skipped, not queued behind it.
    if (scanning) return;
    scanning = true;
    pass = scan().finally(() => {
      scanning = false;
    });
  }, o.everyMs);
  timer.unref();
  return {
    close: async () => {
      closed = true;
      clearInterval(timer);
      await pass;
    },
  };
}

/** The thread a lease key names (`team:channel:threadTs`), if it names one. */
export function refOfThreadKey(key: string): ThreadRef | undefined {
  const [team, channel, threadTs, ...rest] = key.split(':');
  return team && channel && threadTs && rest.length === 0 ? { team, channel, threadTs } : undefined;
}

/** Runs `work` on every item, at most `limit` at a time. */
async function eachAtMost<T>(limit: number, items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
