import type Keyv from 'keyv';
import type { Logger } from '../ops/logger.js';
import { PRUNE_EVERY_MS } from './retention.js';
import { sweepExpired } from './store-keys.js';
import type { PruneOutcome, ThreadRecords } from './thread-records.js';

export type Pruner = {
  /** The pass running now, or the last one (tests). */
  lastPass(): Promise<PassOutcome | undefined>;
  /** Stops the timer and waits for a pass in flight. */
  close(): Promise<void>;
};

export type PassOutcome = PruneOutcome & { expired: number };

/**
 * Old records are pruned by a pass at start and then once a day, rather than by a TTL on
 * each record renewed at every write: a TTL cannot tell a finished session from a running
 * one (a session waiting a day for an answer, or a bot that was down longer than the
 * retention, must keep its record), and a pass can leave the marker that lets a late reply
 * be told why nothing answers. The same pass deletes expired keys SQLite still holds
 * (Redis drops them itself).
 */
export function startPruner(o: { records: ThreadRecords; kv: Keyv; log: Logger; everyMs?: number }): Pruner {
  let current: Promise<PassOutcome | undefined> = Promise.resolve(undefined);
  let closed = false;
  const pass = () => {
    current = current.then(async () => {
      if (closed) return undefined;
      try {
        const pruned = await o.records.prune();
        const expired = await sweepExpired(o.kv);
        const outcome = { ...pruned, expired };
        if (outcome.removed > 0 || outcome.expired > 0)
          o.log.info({ ...outcome, retentionDays: o.records.retentionMs / 86_400_000 }, 'pruned the store');
        return outcome;
      } catch (error) {
        o.log.error({ err: error }, 'could not prune the store');
        return undefined;
      }
    });
  };
  pass();
  const timer = setInterval(pass, o.everyMs ?? PRUNE_EVERY_MS);
  timer.unref();
  return {
    lastPass: () => current,
    close: async () => {
      closed = true;
      clearInterval(timer);
      await current;
    },
  };
}
