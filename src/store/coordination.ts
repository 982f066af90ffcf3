import type Keyv from 'keyv';
import { KeyedMutex } from './keyed-mutex.js';
import type { Mutex } from './mutex.js';
import { coordinationPrefix, openRedis, type Redis } from './redis/connection.js';
import { RedisMutex } from './redis/redis-mutex.js';
import { RedisSeenOnce } from './redis/redis-seen-once.js';
import { RedisStartReservations } from './redis/redis-start-reservations.js';
import { SeenOnce, type SeenKeys } from './seen-once.js';
import { LocalStartReservations, type StartReservations } from './start-reservations.js';

/**
 * What must hold across every process on one store: per-key locks (thread records, a
 * person's starts, provisioning), seen-once keys for Slack deliveries, and start
 * reservations. With SQLite there is one process, so they live in it; with Redis
 * (`STORE_URL=redis://…`) they live in Redis, so any replica may take any request.
 */
export type Coordination = {
  kind: 'local' | 'redis';
  /** A lock per key; each caller gets its own (its local queue), all share the same keys across replicas. */
  mutex(): Mutex;
  seen: SeenKeys;
  starts: StartReservations;
  /** The Redis connection coordination uses, when there is one. */
  redis?: Redis;
  /** Where coordination keys live in Redis (`<namespace>#`). */
  prefix: string;
  close(): Promise<void>;
};

export async function openCoordination(storeUrl: string, kv: Keyv, namespace = 'slack-agents'): Promise<Coordination> {
  const prefix = coordinationPrefix(namespace);
  if (!storeUrl.startsWith('redis://') && !storeUrl.startsWith('rediss://')) {
    return {
      kind: 'local',
      mutex: () => new KeyedMutex(),
      seen: new SeenOnce(kv),
      starts: new LocalStartReservations(),
      prefix,
      close: async () => undefined,
    };
  }
  const redis = await openRedis(storeUrl);
  return {
    kind: 'redis',
    mutex: () => new RedisMutex(redis, prefix),
    seen: new RedisSeenOnce(redis, namespace),
    starts: new RedisStartReservations(redis, prefix),
    redis,
    prefix,
    close: async () => {
      await redis.close();
    },
  };
}
