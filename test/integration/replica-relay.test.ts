// Intents relayed between two replicas over the real Redis on 127.0.0.1:6379 (pub/sub).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, type RelayedIntent } from '../../src/replicas/relay.js';
import { openRedis } from '../../src/store/redis/connection.js';
import { memoryLogger } from '../support/log-sink.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function relay(prefix: string, holder: string, answerWithinMs?: number): Promise<Relay> {
  const client = await openRedis('redis://127.0.0.1:6379');
  opened.push({ close: () => client.close() });
  const r = new Relay(client, prefix, holder, memoryLogger('debug').log, answerWithinMs);
  opened.push(r);
  return r;
}

const ref = { team: 'T1', channel: 'C1', threadTs: '1.1' };
const stop: RelayedIntent = { kind: 'interrupt', ref, user: 'U1' };

describe('relaying an intent to the replica that follows the thread', () => {
  it('the holder carries it out and its outcome comes back to the sender', async () => {
    const prefix = `test-${randomUUID()}#`;
    const [a, b] = [await relay(prefix, 'a'), await relay(prefix, 'b')];
    const served: RelayedIntent[] = [];
    await a.start(async (intent) => {
      served.push(intent);
      return { kind: 'served', outcome: { kind: 'sent' } };
    });
    await b.start(async () => ({ kind: 'not_holder' }));
    expect(await b.send('a', stop)).toEqual({ kind: 'served', outcome: { kind: 'sent' } });
    expect(served).toEqual([stop]);
    expect(await a.send('b', stop)).toEqual({ kind: 'not_holder' });
  });

  it('a holder that is gone is unreachable at once, and not alive; one that throws answers failed', async () => {
    const prefix = `test-${randomUUID()}#`;
    const [a, b] = [await relay(prefix, 'a'), await relay(prefix, 'b')];
    await a.start(async () => {
      throw new Error('broken');
    });
    await b.start(async () => ({ kind: 'not_holder' }));
    expect(await b.alive('a')).toBe(true);
    expect(await b.alive('gone')).toBe(false);
    expect(await b.send('gone', stop)).toEqual({ kind: 'unreachable' });
    expect(await b.send('a', stop)).toEqual({ kind: 'failed' });
  });

  it('a holder that takes it and never answers leaves the sender with no_answer, not waiting for ever', async () => {
    const prefix = `test-${randomUUID()}#`;
    const [a, b] = [await relay(prefix, 'a'), await relay(prefix, 'b', 200)];
    let release: () => void = () => undefined;
    await a.start(() => new Promise((resolve) => (release = () => resolve({ kind: 'not_holder' }))));
    await b.start(async () => ({ kind: 'not_holder' }));
    expect(await b.send('a', stop)).toEqual({ kind: 'no_answer' });
    release();
  });
});
