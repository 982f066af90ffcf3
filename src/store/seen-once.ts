import type Keyv from 'keyv';
import { KeyedMutex } from './keyed-mutex.js';
import { SEEN_TTL_MS } from './retention.js';

/** "Has this inbound thing been handled?": SeenOnce in one process, RedisSeenOnce across replicas. */
export type SeenKeys = {
  /** True the first time a key is offered, false on every later offer. */
  first(key: string): Promise<boolean>;
};

/**
 * "Has this inbound thing been handled?" across retries and restarts. Each key expires
 * after SEEN_TTL_MS (why that long: retention.ts).
 */
export class SeenOnce implements SeenKeys {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly kv: Keyv,
    private readonly ttlMs = SEEN_TTL_MS,
  ) {}

  async first(key: string): Promise<boolean> {
    return this.mutex.run(key, async () => {
      // get, not has: @keyv/sqlite's has() ignores expiry, so an expired key would stay seen.
      if ((await this.kv.get(`seen:${key}`)) !== undefined) return false;
      await this.kv.set(`seen:${key}`, 1, this.ttlMs);
      return true;
    });
  }
}
