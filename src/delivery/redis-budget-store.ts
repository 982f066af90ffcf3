import { createClient } from '@redis/client';
import { z } from 'zod';
import type { Logger } from '../ops/logger.js';
import type { BudgetStore } from './budget-store.js';
import type { Bucket } from './rate-budget.js';

/**
 * The token-bucket arithmetic of `rate-budget.ts`, in one atomic script on Redis's own
 * clock (`TIME`): replicas whose clocks disagree still refill the same buckets at the
 * same rate, and no two of them can take the last token. A reservation is charged as of
 * the time its write goes out (`a` may lie ahead: the last reservation's time), so the
 * replicas' waiting writes get their tokens in the order they asked (`reserveAll`).
 * KEYS: the buckets. ARGV: op (reserve | refund | pause), pause ms, then per bucket
 * perMinute and burst. Returns the wait in ms until the reserved token (0: now) and each
 * bucket's tokens now (below zero while reservations wait).
 */
const BUDGET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local pauseMs = tonumber(ARGV[2])
local n = #KEYS
local tokens, at, paused, rate, burst = {}, {}, {}, {}, {}
for i = 1, n do
  rate[i] = tonumber(ARGV[1 + 2 * i])
  burst[i] = tonumber(ARGV[2 + 2 * i])
  local s = redis.call('HMGET', KEYS[i], 't', 'a', 'p')
  local tk, a, p = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]) or 0
  if tk == nil or a == nil then tk = burst[i]; a = now end
  if now > a then tk = math.min(burst[i], tk + (now - a) * rate[i] / 60000); a = now end
  tokens[i], at[i], paused[i] = tk, a, p
end
local wait = 0
if op == 'reserve' then
  local due = now
  for i = 1, n do
    local ready = at[i]
    if tokens[i] < 1 then ready = at[i] + math.ceil((1 - tokens[i]) * 60000 / rate[i]) end
    if paused[i] > ready then ready = paused[i] end
    if ready > due then due = ready end
  end
  for i = 1, n do
    if due > at[i] then tokens[i] = math.min(burst[i], tokens[i] + (due - at[i]) * rate[i] / 60000); at[i] = due end
    tokens[i] = tokens[i] - 1
  end
  wait = due - now
elseif op == 'refund' then
  for i = 1, n do tokens[i] = math.min(burst[i], tokens[i] + 1) end
elseif op == 'pause' then
  for i = 1, n do
    paused[i] = math.max(paused[i], now + pauseMs)
    if at[i] > paused[i] then tokens[i] = math.min(tokens[i], 1)
    else tokens[i] = 1; at[i] = paused[i] end
  end
end
local out = { wait }
for i = 1, n do
  redis.call('HSET', KEYS[i], 't', tostring(tokens[i]), 'a', tostring(at[i]), 'p', tostring(paused[i]))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst[i] * 60000 / rate[i]) + math.max(0, paused[i] - now, at[i] - now) + 60000)
  local avail = tokens[i] - math.max(0, at[i] - now) * rate[i] / 60000
  if now < paused[i] then avail = 0 end
  out[#out + 1] = tostring(avail)
end
return out
`;

const ScriptReply = z.tuple([z.number()]).rest(z.coerce.number());

// No offline queue: while Redis is away a take fails at once and the scheduler tries again
// later, instead of piling up writes that would all go out on reconnect.
const connectTo = (url: string) => createClient({ url, disableOfflineQueue: true });
type RedisClient = ReturnType<typeof connectTo>;

/** The write scheduler's buckets in Redis, shared by every replica on the same prefix. */
export class RedisBudgetStore implements BudgetStore {
  /** The last tokens Redis reported per bucket, with when (local clock) they were read. */
  private readonly seen = new Map<string, { tokens: number; at: number }>();

  private constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {}

  static async open(url: string, prefix: string, log: Logger): Promise<RedisBudgetStore> {
    const client = connectTo(url);
    let up = false;
    client.on('ready', () => {
      if (!up) log.info('rate budget store connected');
      up = true;
    });
    client.on('error', (error: unknown) => {
      if (up) log.warn({ err: error }, 'rate budget store unreachable; writes wait for it');
      up = false;
    });
    await client.connect();
    return new RedisBudgetStore(client, prefix);
  }

  reserve(buckets: readonly Bucket[]): Promise<number> {
    return this.run('reserve', buckets, 0);
  }

  async refund(buckets: readonly Bucket[]): Promise<void> {
    await this.run('refund', buckets, 0);
  }

  async pause(buckets: readonly Bucket[], ms: number): Promise<void> {
    await this.run('pause', buckets, Math.max(0, Math.round(ms)));
  }

  available(bucket: Bucket): number {
    const seen = this.seen.get(bucket.key);
    if (!seen) return bucket.burst;
    return Math.min(bucket.burst, seen.tokens + ((Date.now() - seen.at) * bucket.perMinute) / 60_000);
  }

  /** Redis answers (for the readiness check). */
  async ping(): Promise<boolean> {
    return this.client.ping().then(
      (r) => r === 'PONG',
      () => false,
    );
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close().catch(() => this.client.destroy());
  }

  private async run(op: 'reserve' | 'refund' | 'pause', buckets: readonly Bucket[], pauseMs: number): Promise<number> {
    const reply = ScriptReply.parse(
      await this.client.eval(BUDGET_SCRIPT, {
        keys: buckets.map((b) => `${this.prefix}${b.key}`),
        arguments: [op, String(pauseMs), ...buckets.flatMap((b) => [String(b.perMinute), String(b.burst)])],
      }),
    );
    const [wait, ...tokens] = reply;
    const at = Date.now();
    for (const [i, b] of buckets.entries()) this.seen.set(b.key, { tokens: tokens[i] ?? 0, at });
    return wait;
  }
}
