import type Keyv from 'keyv';
import { KeyedMutex } from './keyed-mutex.js';

/**
 * "Has this inbound thing been handled?" across retries and restarts. Slack
 * redelivers for up to ~6 minutes, so a day of memory is plenty.
 */
export class SeenOnce {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly kv: Keyv,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
  ) {}

  /** True the first time a key is offered, false on every later offer. */
  async first(key: string): Promise<boolean> {
    return this.mutex.run(key, async () => {
      if (await this.kv.has(`seen:${key}`)) return false;
      await this.kv.set(`seen:${key}`, 1, this.ttlMs);
      return true;
    });
  }
}
