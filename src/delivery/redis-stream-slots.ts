import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { z } from 'zod';
import type { Logger } from '../ops/logger.js';
import { type SlotSource, type SlotToken, slotToken } from './stream-slots.js';

/**
 * A counting semaphore in Redis: the workspace's stream slots, one sorted set of holder ids
 * scored by when each holder lapses, on Redis's own clock (`TIME`). Every call first drops
 * the holders that lapsed, so a replica that died (kill -9, network cut) holds its slots no
 * longer than one hold time. One script for all three operations, each atomic: two replicas
 * cannot both take the last slot.
 * KEYS[1]: the holders. ARGV: op (take | renew | release), limit, hold ms, then holder ids.
 * Returns how many ids the op took, renewed or released, how many holders there are after
 * it, and (renew) the ids that had lapsed and so were not renewed.
 */
export const SLOTS_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = KEYS[1]
local op = ARGV[1]
local limit = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local done = 0
local lapsed = {}
if op == 'take' then
  if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now + hold, ARGV[4])
    done = 1
  end
elseif op == 'renew' then
  for i = 4, #ARGV do
    if redis.call('ZSCORE', key, ARGV[i]) then
      redis.call('ZADD', key, 'XX', now + hold, ARGV[i])
      done = done + 1
    else
      lapsed[#lapsed + 1] = ARGV[i]
    end
  end
elseif op == 'release' then
  for i = 4, #ARGV do done = done + redis.call('ZREM', key, ARGV[i]) end
end
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if #last > 0 then redis.call('PEXPIREAT', key, tonumber(last[2]) + 1) end
local out = { done, redis.call('ZCARD', key) }
for _, id in ipairs(lapsed) do out[#out + 1] = id end
return out
`;

export type SlotsOp = 'take' | 'renew' | 'release';
export type SlotsReply = { done: number; holders: number; lapsed: string[] };
/** Runs `SLOTS_SCRIPT` for `ids` (Redis in production, a stand-in in unit tests). */
export type SlotsScript = (op: SlotsOp, ids: readonly string[]) => Promise<SlotsReply>;

const ScriptReply = z
  .tuple([z.number(), z.number()])
  .rest(z.string())
  .transform(([done, holders, ...lapsed]) => ({ done, holders, lapsed }));

/**
 * The workspace's stream slots shared by every replica on one Redis namespace: the same
 * limit as one process's `StreamSlots`, counted across all of them. A holder is renewed at a
 * third of its hold time while its token is held; a token released twice gives back one slot.
 * Redis away: no slot is taken (the thread posts instead of streaming), and a release that
 * does not reach Redis lapses within the hold time. The renewal timer is owned here and
 * stopped by `close` (which gives every slot back) or `abandon` (a crash: gives none back).
 */
export class RedisStreamSlots implements SlotSource {
  /** Ids of the slots this process holds now, renewed on every tick. */
  private readonly held = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly me = randomUUID();
  private next = 0;
  /** Holders in the workspace at Redis's last answer (all replicas). */
  private holders = 0;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private stopped = false;
  private abandoned = false;

  constructor(
    private readonly script: SlotsScript,
    readonly limit: number,
    private readonly holdMs: number,
    private readonly log: Pick<Logger, 'warn' | 'debug'>,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    // Runs while nothing is held too: `free` then learns of slots other replicas gave back.
    this.timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(holdMs / 3)));
  }

  /** The workspace's holders are `${namespace}:slots:${team}`; one connection per process. */
  static async open(url: string, key: string, limit: number, holdMs: number, log: Logger): Promise<RedisStreamSlots> {
    // No offline queue, as for the rate budget: with Redis away a take fails at once.
    const client = createClient({ url, disableOfflineQueue: true });
    client.on('error', (error: unknown) => log.debug({ err: error }, 'stream slots store unreachable'));
    await client.connect();
    const script: SlotsScript = async (op, ids) =>
      ScriptReply.parse(await client.eval(SLOTS_SCRIPT, { keys: [key], arguments: [op, String(limit), String(holdMs), ...ids] }));
    return new RedisStreamSlots(script, limit, holdMs, log, async () => {
      if (client.isOpen) await client.close().catch(() => client.destroy());
    });
  }

  get free(): number {
    return Math.max(0, this.limit - this.holders);
  }

  take(): Promise<SlotToken | undefined> {
    return this.track(this.takeOne());
  }

  /** Gives back every slot still held, stops renewing, closes the connection. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.quiet();
    if (this.held.size > 0) await this.run('release', [...this.held]);
    this.held.clear();
    await this.onClose();
  }

  /** A crash (tests): stops renewing and gives nothing back, so the slots lapse as a dead replica's do. */
  async abandon(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abandoned = true;
    clearInterval(this.timer);
    this.held.clear();
    await this.quiet();
    await this.onClose();
  }

  private async takeOne(): Promise<SlotToken | undefined> {
    if (this.stopped) return undefined;
    const id = `${this.me}:${++this.next}`;
    const reply = await this.run('take', [id]);
    if (reply?.done !== 1) return undefined;
    this.held.add(id);
    const token: SlotToken = slotToken(() => this.release(id));
    if (!this.stopped) return token;
    // Stopped while Redis answered: the slot goes back (close waits for it), or lapses (abandon).
    token.release();
    return undefined;
  }

  private release(id: string): void {
    if (!this.held.delete(id) || this.abandoned) return;
    void this.track(this.run('release', [id]));
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    try {
      const reply = await this.track(this.run('renew', [...this.held]));
      for (const id of reply?.lapsed ?? []) {
        // Not renewed in time (this process stalled longer than the hold time, or Redis lost
        // it): its stream stays open and is no longer counted, so the workspace may hold one
        // more stream than the limit until it closes.
        if (this.held.delete(id)) this.log.warn({ holdMs: this.holdMs }, 'a stream slot lapsed before it was renewed');
      }
    } finally {
      this.renewing = false;
    }
  }

  /** Every call to Redis is tracked until it settles, so closing waits for them. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /** Until no call is in flight (a take settling after a stop may release: that is one more). */
  private async quiet(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** One script call; its answer updates `free`. A failure is logged and answered with undefined. */
  private run(op: SlotsOp, ids: readonly string[]): Promise<SlotsReply | undefined> {
    return this.script(op, ids).then(
      (reply) => {
        this.holders = reply.holders;
        return reply;
      },
      (error: unknown) => {
        this.log.debug({ err: error, op }, 'stream slots store did not answer');
        return undefined;
      },
    );
  }
}
