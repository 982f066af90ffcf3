import { describe, expect, it } from 'vitest';
import { leaseTimes, mayWrite, renewDue, step, type LeaseState } from '../../../src/replicas/lease-state.js';

const times = leaseTimes(15_000);
const held = (sentAt: number): LeaseState => step({ kind: 'unheld' }, { kind: 'granted', sentAt }, times);

describe('a thread lease at one replica', () => {
  it('is renewed at a third of the lease time and stops writes a margin before it could lapse in Redis', () => {
    const s = held(1_000);
    expect(times.renewEveryMs).toBe(5_000);
    expect(renewDue(s, 1_000 + times.renewEveryMs - 1)).toBe(false);
    expect(renewDue(s, 1_000 + times.renewEveryMs)).toBe(true);
    expect(mayWrite(s, 1_000 + times.leaseMs - times.marginMs - 1)).toBe(true);
    expect(mayWrite(s, 1_000 + times.leaseMs - times.marginMs)).toBe(false);
    expect(times.marginMs).toBeGreaterThan(0);
  });

  it('a renewal moves the deadline from when its request was sent, not from when the answer came', () => {
    const renewed = step(held(0), { kind: 'granted', sentAt: 5_000 }, times);
    expect(renewed).toEqual({ kind: 'held', validUntil: 5_000 + times.leaseMs - times.marginMs, renewAt: 5_000 + times.renewEveryMs });
  });

  it('a renewal Redis refuses (another replica has the thread) ends the lease at once', () => {
    const s = step(held(0), { kind: 'refused' }, times);
    expect(s).toEqual({ kind: 'lost', reason: 'taken' });
    expect(mayWrite(s, 1)).toBe(false);
  });

  it('renewals that fail in transport keep the lease until its deadline, then it lapses', () => {
    let s = step(held(0), { kind: 'failed', at: 5_000 }, times);
    expect(mayWrite(s, 5_000)).toBe(true);
    // Still due: the next tick tries again.
    expect(renewDue(s, 6_000)).toBe(true);
    s = step(s, { kind: 'failed', at: 10_000 }, times);
    expect(s.kind).toBe('held');
    s = step(s, { kind: 'tick', now: times.leaseMs - times.marginMs }, times);
    expect(s).toEqual({ kind: 'lost', reason: 'lapsed' });
  });

  it('a late grant after the lease was lost or given back does not bring it back', () => {
    const lost = step(held(0), { kind: 'released' }, times);
    expect(lost).toEqual({ kind: 'lost', reason: 'released' });
    expect(step(lost, { kind: 'granted', sentAt: 100 }, times)).toBe(lost);
  });

  it('acquiring a lease another replica holds leaves it unheld', () => {
    const s = step({ kind: 'unheld' }, { kind: 'refused' }, times);
    expect(s).toEqual({ kind: 'unheld' });
    expect(mayWrite(s, 0)).toBe(false);
    expect(renewDue(s, 10_000)).toBe(false);
  });
});
