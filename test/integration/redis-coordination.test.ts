// Two replicas on one Redis, as two store instances with their own connections: the
// record lock, seen-once keys and start reservations hold across them, and agent
// profiles are provisioned once when two bots start together. Real Redis on 127.0.0.1:6379,
// a fresh key namespace per test.
import { randomUUID } from 'node:crypto';
import type Keyv from 'keyv';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env.js';
import { startBot, type RunningBot } from '../../src/bot.js';
import { openCoordination, type Coordination } from '../../src/store/coordination.js';
import { openStore } from '../../src/store/open-store.js';
import { openRedis, type Redis } from '../../src/store/redis/connection.js';
import { RELEASE_SCRIPT, RedisMutex } from '../../src/store/redis/redis-mutex.js';
import { RedisStartReservations } from '../../src/store/redis/redis-start-reservations.js';
import { SEEN_TTL_MS } from '../../src/store/retention.js';
import { emptyHistory, ThreadRecords, type ThreadRecord } from '../../src/store/thread-records.js';
import { startFakeManagedAgents } from '../fakes/managed-agents/index.js';
import { startFakeSlack } from '../fakes/slack/index.js';
import { memoryLogger } from '../support/log-sink.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

type Replica = { kv: Keyv; coordination: Coordination; records: ThreadRecords };
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function replica(namespace: string): Promise<Replica> {
  const kv = await openStore(REDIS_URL, namespace);
  const coordination = await openCoordination(REDIS_URL, kv, namespace);
  opened.push({
    close: async () => {
      await kv.disconnect();
      await coordination.close();
    },
  });
  return { kv, coordination, records: new ThreadRecords(kv, { mutex: coordination.mutex() }) };
}

async function redis(): Promise<Redis> {
  const client = await openRedis(REDIS_URL);
  opened.push({ close: () => client.close() });
  return client;
}

const record = (threadTs: string): ThreadRecord => ({
  v: 1,
  team: 'T1',
  channel: 'C1',
  threadTs,
  owner: 'U1',
  prompt: 'p',
  sessionId: 'sesn_1',
  status: 'active',
  createdAt: 0,
  ...emptyHistory(),
});

describe('coordination across replicas on one Redis', () => {
  it('updates of one thread record from two replicas all land: each read-modify-write runs under one lock', async () => {
    const ns = `test-${randomUUID()}`;
    const [a, b] = [await replica(ns), await replica(ns)];
    expect(a.coordination.kind).toBe('redis');
    const ref = { team: 'T1', channel: 'C1', threadTs: '1.1' };
    await a.records.create(record(ref.threadTs));
    const writes = Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? a : b).records.update(ref, (r) => {
        r.notices.push({ key: `n${i}`, text: String(i), afterItems: 0 });
      }),
    );
    await Promise.all(writes);
    const final = await b.records.get(ref);
    expect(final?.notices.map((n) => n.key).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `n${i}`).sort());
  });

  it('the same lock key never has two holders at once, whichever replica asks', async () => {
    const ns = `test-${randomUUID()}`;
    const [a, b] = [await replica(ns), await replica(ns)];
    const [ma, mb] = [a.coordination.mutex(), b.coordination.mutex()];
    let inside = 0;
    let most = 0;
    const section = async () => {
      inside += 1;
      most = Math.max(most, inside);
      // Yield to the event loop a few times, so the other replica's try comes in meanwhile.
      for (let i = 0; i < 3; i += 1) await new Promise((r) => setImmediate(r));
      inside -= 1;
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? ma : mb).run('k', section)));
    expect(most).toBe(1);
  });

  it('a lock is released only by its own token, and a holder that died stops blocking once its ttl passes', async () => {
    const ns = `test-${randomUUID()}`;
    const client = await redis();
    const key = `${ns}#lock:k`;
    await client.set(key, 'someone-else', { expiration: { type: 'PX', value: 200 } });
    expect(await client.eval(RELEASE_SCRIPT, { keys: [key], arguments: ['not-theirs'] })).toBe(0);
    expect(await client.get(key)).toBe('someone-else');
    // A replica that died holding the lock: the next one gets in after its ttl, not never.
    const ran = await new RedisMutex(client, `${ns}#`).run('k', async () => 'ran');
    expect(ran).toBe('ran');
    expect(await client.get(key)).toBeNull();
  });

  it('a delivery offered to two replicas at once is first at exactly one; the key is the one the store reads and it expires', async () => {
    const ns = `test-${randomUUID()}`;
    const [a, b] = [await replica(ns), await replica(ns)];
    const offers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).coordination.seen.first('event:Ev1')));
    expect(offers.filter(Boolean)).toHaveLength(1);
    expect(await b.kv.get('seen:event:Ev1')).toBe(1);
    const ttl = await (await redis()).pTTL(`${ns}::seen:event:Ev1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(SEEN_TTL_MS);
    expect(await a.coordination.seen.first('event:Ev2')).toBe(true);
  });

  it('a start in flight at one replica counts at the other, until it is given back or lapses', async () => {
    const ns = `test-${randomUUID()}`;
    const [a, b] = [await replica(ns), await replica(ns)];
    const release = await a.coordination.starts.reserve('U1');
    await a.coordination.starts.reserve('U2');
    expect(await b.coordination.starts.count('U1')).toBe(1);
    await release();
    await release();
    expect(await b.coordination.starts.count('U1')).toBe(0);
    expect(await b.coordination.starts.count('U2')).toBe(1);
    // A replica that died mid-start: its reservation stops counting after the ttl.
    const client = await redis();
    await new RedisStartReservations(client, `${ns}#`, 60_000).reserve('U3');
    expect(await b.coordination.starts.count('U3')).toBe(1);
    const later = new RedisStartReservations(client, `${ns}#`, 60_000, () => Date.now() + 61_000);
    expect(await later.count('U3')).toBe(0);
  });

  it('two bots starting together on one Redis create the default agent and environment once', async () => {
    const ns = `test-${randomUUID()}`;
    const slack = await startFakeSlack();
    opened.push(slack);
    const agents = await startFakeManagedAgents();
    opened.push(agents);
    const parsed = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_API_URL: slack.apiUrl,
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: agents.url,
      STORE_URL: REDIS_URL,
      PORT: '0',
      LOG_LEVEL: 'debug',
    });
    if (parsed.kind === 'invalid') throw new Error(parsed.message);
    const logs = memoryLogger('debug');
    const bots: RunningBot[] = await Promise.all([0, 1].map(() => startBot(parsed.env, logs.log, { storeNamespace: ns, closeGraceMs: 500 })));
    for (const bot of bots) opened.push(bot);
    expect(agents.agents.size).toBe(1);
    expect(agents.environments.size).toBe(1);
    const [one, two] = bots.map((b) => b.profiles.targets([]));
    expect(one).toEqual(two);
  });
});
