// Intents relayed between replicas over the real Redis on 127.0.0.1:6379: stored with their
// thread (a list), announced over pub/sub, carried out and acknowledged by the holder.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Again, type Apply, Relay, type RelayedIntent } from '../../src/replicas/relay.js';
import { openRedis } from '../../src/store/redis/connection.js';
import { memoryLogger } from '../support/log-sink.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

let lastClient: Awaited<ReturnType<typeof openRedis>> | undefined;
async function relay(prefix: string, holder: string, answerWithinMs?: number): Promise<Relay> {
  const client = await openRedis('redis://127.0.0.1:6379');
  lastClient = client;
  opened.push({ close: () => client.close() });
  const r = new Relay(client, prefix, holder, memoryLogger('debug').log, answerWithinMs);
  opened.push(r);
  return r;
}

const ref = { team: 'T1', channel: 'C1', threadTs: '1.1' };
const stop: RelayedIntent = { kind: 'interrupt', ref, user: 'U1' };
const steer = (text: string): RelayedIntent => ({ kind: 'steer', ref, msg: { user: 'U1', text, ts: `2.${text.length}` } });

/** A replica's bridge in miniature: every stored intent it is woken for is carried out with `apply`. */
async function holding(r: Relay, apply: Apply): Promise<void> {
  await r.start((thread) => r.drain(thread, apply, () => true));
}

describe('relaying an intent to the replica that follows the thread', () => {
  it('the holder carries out what is stored for the thread, in order, and each outcome comes back to its sender', async () => {
    const prefix = `test-${randomUUID()}#`;
    const [a, b] = [await relay(prefix, 'a'), await relay(prefix, 'b')];
    const served: Array<{ intent: RelayedIntent; again: Again }> = [];
    await holding(a, async (intent, again) => {
      served.push({ intent, again });
      return { kind: 'served', outcome: { kind: 'sent', n: served.length } };
    });
    await b.start(async () => undefined);
    const first = await b.store(steer('one'));
    const second = await b.store(steer('two'));
    expect(await b.wake('a', ref, second)).toEqual({ kind: 'served', outcome: { kind: 'sent', n: 2 } });
    expect(served).toEqual([
      { intent: steer('one'), again: false },
      { intent: steer('two'), again: false },
    ]);
    // Carried out once: its outcome is kept for its sender, and nothing is left for the thread.
    expect(await b.outcomeOf(first)).toEqual({ kind: 'served', outcome: { kind: 'sent', n: 1 } });
    expect(await b.pending(ref)).toBe(false);
  });

  it('a holder that is gone is unreachable at once, and not alive; what was stored waits for the next holder', async () => {
    const prefix = `test-${randomUUID()}#`;
    const b = await relay(prefix, 'b');
    await b.start(async () => undefined);
    expect(await b.alive('b')).toBe(true);
    expect(await b.alive('gone')).toBe(false);
    const id = await b.store(stop);
    expect(await b.wake('gone', ref, id)).toEqual({ kind: 'unreachable' });
    expect(await b.pending(ref)).toBe(true);
    const served: RelayedIntent[] = [];
    await b.drain(
      ref,
      async (intent) => {
        served.push(intent);
        return { kind: 'served', outcome: { kind: 'sent' } };
      },
      () => true,
    );
    expect(served).toEqual([stop]);
    expect(await b.outcomeOf(id)).toEqual({ kind: 'served', outcome: { kind: 'sent' } });
  });

  it('an intent a holder took and never acknowledged (it died carrying it out) is carried out once more by the next holder, told that it may have landed', async () => {
    const prefix = `test-${randomUUID()}#`;
    const [a, b, c] = [await relay(prefix, 'a'), await relay(prefix, 'b', 200), await relay(prefix, 'c')];
    let taken: () => void = () => undefined;
    const tookIt = new Promise<void>((resolve) => (taken = resolve));
    let letGo: () => void = () => undefined;
    // A takes it and does not finish: what a replica killed in the middle of the send leaves.
    await holding(a, () => {
      taken();
      return new Promise((resolve) => (letGo = () => resolve({ kind: 'not_holder' })));
    });
    await b.start(async () => undefined);
    const id = await b.store(stop);
    const waited = b.wake('a', ref, id);
    await tookIt;
    expect(await waited).toEqual({ kind: 'queued' });
    const again: Again[] = [];
    await c.drain(
      ref,
      async (_intent, mayHaveLanded) => {
        again.push(mayHaveLanded);
        return { kind: 'served', outcome: { kind: 'already_stopping' } };
      },
      () => true,
    );
    expect(again).toEqual(['taken']);
    expect(await b.outcomeOf(id)).toEqual({ kind: 'served', outcome: { kind: 'already_stopping' } });
    expect(await c.pending(ref)).toBe(false);
    letGo();
  });

  it('one whose holder had begun sending it is handed over as sending; a holder whose intent was taken over meanwhile may not send it', async () => {
    const prefix = `test-${randomUUID()}#`;
    const [a, b] = [await relay(prefix, 'a'), await relay(prefix, 'b')];
    await a.store(steer('once'));
    let sendingAtA: () => Promise<void> = async () => undefined;
    let aHolds = true;
    // A marks it as being sent, then stops before it acknowledges (the thread went elsewhere).
    await a.drain(
      ref,
      async (_intent, _again, sending) => {
        await sending();
        sendingAtA = sending;
        aHolds = false;
        throw new Error('lease lost');
      },
      () => aHolds,
    );
    const seen: Again[] = [];
    let letGo: () => void = () => undefined;
    const atB = b.drain(
      ref,
      (_intent, again) => {
        seen.push(again);
        return new Promise((resolve) => (letGo = () => resolve({ kind: 'served', outcome: { kind: 'failed' } })));
      },
      () => true,
    );
    await expect.poll(() => seen).toEqual(['sending']);
    // B has it now: A, still winding down, is refused before it could send it again.
    await expect(sendingAtA()).rejects.toThrow('another replica has taken this intent over');
    letGo();
    await atB;
    expect(await b.pending(ref)).toBe(false);
  });

  it('a drain cut short because the thread went elsewhere leaves the intent for the next holder; a throw while holding is acknowledged as failed', async () => {
    const prefix = `test-${randomUUID()}#`;
    const b = await relay(prefix, 'b');
    let holds = true;
    const first = await b.store(stop);
    await b.drain(
      ref,
      async () => {
        holds = false;
        throw new Error('lease lost');
      },
      () => holds,
    );
    expect(await b.pending(ref)).toBe(true);
    expect(await b.outcomeOf(first)).toEqual({ kind: 'queued' });
    await b.drain(
      ref,
      async () => {
        throw new Error('broken');
      },
      () => true,
    );
    expect(await b.outcomeOf(first)).toEqual({ kind: 'failed' });
    expect(await b.pending(ref)).toBe(false);
  });

  it('a subscriber whose connection drops is told when it is back (wake-ups published meanwhile reached nobody), and hears wake-ups again', async () => {
    const prefix = `test-${randomUUID()}#`;
    const a = await relay(prefix, 'a');
    const admin = lastClient!;
    let reconnected: () => void = () => undefined;
    const back = new Promise<void>((resolve) => (reconnected = resolve));
    const served: RelayedIntent[] = [];
    await a.start(
      (thread) =>
        a.drain(
          thread,
          async (intent) => {
            served.push(intent);
            return { kind: 'served', outcome: { kind: 'sent' } };
          },
          () => true,
        ),
      async () => reconnected(),
    );
    expect(a.listening()).toBe(true);
    const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
    const line = list.split('\n').find((l) => l.includes(` name=${prefix}relay:a `));
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await admin.sendCommand(['CLIENT', 'KILL', 'ID', id!]);
    await back;
    expect(a.listening()).toBe(true);
    const b = await relay(prefix, 'b');
    await b.start(async () => undefined);
    const stored = await b.store(stop);
    expect(await b.wake('a', ref, stored)).toEqual({ kind: 'served', outcome: { kind: 'sent' } });
    expect(served).toEqual([stop]);
  });
});
