import type { Logger } from '../ops/logger.js';
import { MemoryBudgetStore, type BudgetStore } from './budget-store.js';
import { RedisBudgetStore } from './redis-budget-store.js';

/**
 * STORE_URL → where the rate budget lives: in memory beside SQLite (one process), in the
 * same Redis as the records when it is Redis, so every process on that Redis and namespace
 * draws on one budget per workspace, as Slack counts it.
 */
export async function openBudgetStore(storeUrl: string, namespace: string, log: Logger): Promise<BudgetStore> {
  if (/^rediss?:\/\//.test(storeUrl)) return RedisBudgetStore.open(storeUrl, `${namespace}:budget:`, log);
  return new MemoryBudgetStore();
}
