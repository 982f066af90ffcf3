import { describe, expect, it } from 'vitest';
import { OpenStreams } from '../../src/delivery/open-streams.js';
import { type SlotToken, StreamSlots } from '../../src/delivery/stream-slots.js';
import { carrying, type Segment } from '../../src/delivery/text-plan.js';

const stream = (ts: string, closed = false): Segment => ({ ts, mode: 'stream', ...carrying('x'), prefix: '', closed, startedAt: 0, lastWriteAt: 0 });

describe('StreamSlots', () => {
  it('hands out at most `limit` tokens, and none once they are all taken', () => {
    const slots = new StreamSlots(2);
    const a = slots.take();
    const b = slots.take();
    expect(a?.held).toBe(true);
    expect(b?.held).toBe(true);
    expect(slots.take()).toBeUndefined();
    expect(slots.free).toBe(0);
  });

  it('gives a slot back once however often its token is released', () => {
    const slots = new StreamSlots(2);
    const a: SlotToken = slots.take()!;
    const b = slots.take()!;
    // Read through an alias: after its release the compiler no longer lets `a` be used.
    const seen: { readonly held: boolean } = a;
    const again: SlotToken = a;
    a.release();
    again.release();
    expect(seen.held).toBe(false);
    expect(slots.free).toBe(1);
    // b still owns its slot: a's second release did not free it.
    expect(b.held).toBe(true);
    const c = slots.take();
    expect(c).toBeDefined();
    expect(slots.take()).toBeUndefined();
  });

  it('does not let a released token be used again (a compile error, checked by tsc)', () => {
    const slots = new StreamSlots(1);
    const a: SlotToken = slots.take()!;
    a.release();
    // @ts-expect-error a released token is `never`: releasing it again does not compile
    a.release();
    // @ts-expect-error nor does reading it
    expect(a.held).toBe(false);
    expect(slots.free).toBe(1);
  });
});

describe('OpenStreams', async () => {
  it('gives a stream its slot back when its block no longer shows it open, once', async () => {
    const slots = new StreamSlots(1);
    const open = new OpenStreams(slots);
    open.hold('t1', '1.1', (await open.take())!);
    open.reconcile('t1', [stream('1.1')]);
    expect(slots.free).toBe(0);
    open.reconcile('other-block', []);
    expect(slots.free).toBe(0);
    open.reconcile('t1', [stream('1.1', true)]);
    expect(slots.free).toBe(1);
    open.reconcile('t1', []);
    expect(slots.free).toBe(1);
  });

  it('refuses a released token for a stream, which would stream past the limit', async () => {
    const slots = new StreamSlots(1);
    const open = new OpenStreams(slots);
    const token: SlotToken = (await open.take())!;
    const handed: SlotToken = token;
    token.release();
    expect(() => open.hold('t1', '1.1', handed)).toThrow('released slot');
    expect(slots.free).toBe(1);
  });

  it('gives back every slot it holds when closed, and takes none after', async () => {
    const slots = new StreamSlots(2);
    const open = new OpenStreams(slots);
    open.hold('t1', '1.1', (await open.take())!);
    open.hold('t2', '1.2', (await open.take())!);
    open.close();
    expect(slots.free).toBe(2);
    expect(await open.take()).toBeUndefined();
  });

  it('gives back a slot its source (Redis) answered with after the thread closed', async () => {
    const slots = new StreamSlots(1);
    let answer!: () => void;
    const later = new Promise<void>((r) => (answer = r));
    const open = new OpenStreams({ free: 1, take: () => later.then(() => slots.take()) });
    const taking = open.take();
    open.close();
    answer();
    expect(await taking).toBeUndefined();
    expect(slots.free).toBe(1);
  });
});
