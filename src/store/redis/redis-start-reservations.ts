import { randomUUID } from 'node:crypto';
import type { StartReservations } from '../start-reservations.js';
import type { Redis } from './connection.js';

/**
 * Start reservations across replicas: a sorted set per person, one member per start in
 * flight, scored by when it lapses. A replica that dies during a start leaves its member
 * behind; it stops counting after `ttlMs` (longer than any start takes: a session create,
 * its retries and the first prompt) instead of holding the person's place for good.
 */
export class RedisStartReservations implements StartReservations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(user: string): string {
    return `${this.prefix}starts:${user}`;
  }

  async reserve(user: string): Promise<() => Promise<void>> {
    const id = randomUUID();
    const key = this.key(user);
    await this.redis
      .multi()
      .zAdd(key, { score: this.now() + this.ttlMs, value: id })
      .pExpire(key, this.ttlMs)
      .exec();
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.redis.zRem(key, id);
    };
  }

  async count(user: string): Promise<number> {
    const key = this.key(user);
    const [, count] = await this.redis.multi().zRemRangeByScore(key, '-inf', this.now()).zCard(key).exec();
    return Number(count);
  }
}
