import { SEEN_TTL_MS } from '../retention.js';
import type { SeenKeys } from '../seen-once.js';
import type { Redis } from './connection.js';

/**
 * SeenOnce across replicas: one `SET NX PX`, so of two replicas offered the same key
 * (a redelivery that went to the other one, or one event sent to both) exactly one
 * hears "first". The key and its value are the ones keyv writes for SeenOnce
 * (`<namespace>::seen:<key>`, `{"value":1,"expires":…}`), so the store reads the same
 * whichever wrote it.
 */
export class RedisSeenOnce implements SeenKeys {
  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly ttlMs = SEEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async first(key: string): Promise<boolean> {
    const value = JSON.stringify({ value: 1, expires: this.now() + this.ttlMs });
    const set = await this.redis.set(`${this.namespace}::seen:${key}`, value, { condition: 'NX', expiration: { type: 'PX', value: this.ttlMs } });
    return set === 'OK';
  }
}
