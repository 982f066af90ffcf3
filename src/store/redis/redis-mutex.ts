import { randomUUID } from 'node:crypto';
import { delay } from '../../ops/delay.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { Mutex } from '../mutex.js';
import type { Redis } from './connection.js';

/** Deletes the lock only if it still carries our token: a lock that expired and went to another replica stays theirs. */
export const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Moves the deadline of a lock we still hold; 0 when it is not ours any more. */
const EXTEND_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

export type RedisMutexOptions = {
  /** How long a lock lives without being extended: what a replica that died holding it costs the others. */
  ttlMs?: number;
  /** First and longest wait between tries for a lock another replica holds. */
  retryMs?: { initial: number; max: number };
  /** Told when a section outlived its lock (it could not be extended): another replica may have entered. */
  onLost?: (key: string) => void;
};

/**
 * A per-key lock across replicas: `SET lock token NX PX ttl`, extended at a third of the
 * ttl while the section runs, released with a token check. In front of it a KeyedMutex
 * queues this process's own callers, so only one of them asks Redis for a key at a time
 * and they keep their order.
 */
export class RedisMutex implements Mutex {
  private readonly local = new KeyedMutex();
  private readonly ttlMs: number;
  private readonly retryMs: { initial: number; max: number };

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: RedisMutexOptions = {},
  ) {
    this.ttlMs = o.ttlMs ?? 10_000;
    this.retryMs = o.retryMs ?? { initial: 5, max: 100 };
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.local.run(key, async () => {
      const lockKey = `${this.prefix}lock:${key}`;
      const token = randomUUID();
      await this.acquire(lockKey, token);
      let lost = false;
      const extender = setInterval(() => {
        this.redis.eval(EXTEND_SCRIPT, { keys: [lockKey], arguments: [token, String(this.ttlMs)] }).then(
          (ok) => {
            if (ok === 0 && !lost) {
              lost = true;
              this.o.onLost?.(key);
            }
          },
          () => undefined,
        );
      }, this.ttlMs / 3);
      try {
        return await fn();
      } finally {
        clearInterval(extender);
        await this.redis.eval(RELEASE_SCRIPT, { keys: [lockKey], arguments: [token] }).catch(() => undefined);
      }
    });
  }

  private async acquire(lockKey: string, token: string): Promise<void> {
    let wait = this.retryMs.initial;
    for (;;) {
      const set = await this.redis.set(lockKey, token, { condition: 'NX', expiration: { type: 'PX', value: this.ttlMs } });
      if (set === 'OK') return;
      // Jittered, so replicas waiting for the same lock do not ask in step.
      await delay(wait / 2 + Math.random() * wait);
      wait = Math.min(wait * 2, this.retryMs.max);
    }
  }
}
