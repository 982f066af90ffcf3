import type { Logger } from '../ops/logger.js';
import { MemoryBudgetStore, type BudgetStore } from './budget-store.js';
import { RedisBudgetStore } from './redis-budget-store.js';
import { RedisStreamSlots } from './redis-stream-slots.js';
import { type SlotSource, StreamSlots } from './stream-slots.js';

/**
 * STORE_URL → where the rate budget lives: in memory beside SQLite (one process), in the
 * same Redis as the records when it is Redis, so every process on that Redis and namespace
 * draws on one budget per workspace, as Slack counts it.
 */
export async function openBudgetStore(storeUrl: string, namespace: string, log: Logger): Promise<BudgetStore> {
  if (isRedis(storeUrl)) return RedisBudgetStore.open(storeUrl, `${namespace}:budget:`, log);
  return new MemoryBudgetStore();
}

/** Stream slots with an owner: `close` gives back what is held, `abandon` (a crash) gives back nothing. */
export type OwnedSlots = SlotSource & { close(): Promise<void>; abandon(): Promise<void> };

/**
 * STORE_URL → where the workspace's stream slots are counted: in this process beside SQLite,
 * in Redis when it is Redis, so every replica on that namespace shares the `limit`, as they
 * share the appendStream budget those streams spend. A Redis holder lives `holdMs` without a
 * renewal: the replicas' lease time, so a dead replica's slots come back as its threads do.
 */
export async function openStreamSlots(
  storeUrl: string,
  opts: { namespace: string; team: string; limit: number; holdMs: number },
  log: Logger,
): Promise<OwnedSlots> {
  if (isRedis(storeUrl)) return RedisStreamSlots.open(storeUrl, `${opts.namespace}:slots:${opts.team}`, opts.limit, opts.holdMs, log);
  const slots = new StreamSlots(opts.limit);
  return {
    get free() {
      return slots.free;
    },
    take: () => slots.take(),
    close: () => Promise.resolve(),
    abandon: () => Promise.resolve(),
  };
}

const isRedis = (storeUrl: string) => /^rediss?:\/\//.test(storeUrl);
