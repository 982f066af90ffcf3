/**
 * How long the store keeps what. Pure: the numbers and the one rule about thread records.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Dedupe keys (event ids, message timestamps). Slack retries an event it did not get a 2xx
 * for three times: at once, after a minute and after five minutes (Socket Mode the same);
 * after that it drops the event. Six hours covers that with a wide margin, including a
 * restart of the bot in between, and nothing later can arrive that the key would stop.
 */
export const SEEN_TTL_MS = 6 * 60 * 60 * 1000;

/** RECORD_RETENTION_DAYS when it is not set. */
export const DEFAULT_RETENTION_DAYS = 30;

/** Every pass of the pruner; also once at start. */
export const PRUNE_EVERY_MS = DAY_MS;

type Prunable = { status: string; createdAt: number; updatedAt?: number | undefined };

/**
 * A thread record goes once its session has not run for the retention time: not running
 * (`idle`, `ended`, `failed`) and last changed longer ago than that. A running one is kept
 * however old it is: its stream is reopened after a restart, and it may wait a day for a
 * question. Records from before `updatedAt` count from their creation.
 */
export function isPrunable(record: Prunable, now: number, retentionMs: number): boolean {
  if (record.status === 'starting' || record.status === 'active') return false;
  return now - (record.updatedAt ?? record.createdAt) > retentionMs;
}
