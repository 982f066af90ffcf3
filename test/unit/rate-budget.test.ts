import { describe, expect, it } from 'vitest';
import {
  SLACK_BUDGETS,
  WORKSPACE_BUDGETS,
  bucketsFor,
  freshState,
  pausedState,
  readyAt,
  refunded,
  reserveAll,
  tokensNow,
  type Bucket,
  type BucketState,
} from '../../src/delivery/rate-budget.js';

const bucket = (perMinute: number, burst: number, key = 'b'): Bucket => ({ key, perMinute, burst });

/** Reserves from `buckets` at `now` and returns how long until the reserved token, keeping the states. */
function reserver(buckets: Bucket[]) {
  let states: BucketState[] = buckets.map((b) => freshState(b, 0));
  return {
    reserve: (now: number) => {
      const r = reserveAll(states, buckets, now);
      states = r.states;
      return r.at - now;
    },
    states: () => states,
    set: (next: BucketState[]) => {
      states = next;
    },
  };
}

describe('rate budget arithmetic', () => {
  it('allows a burst, then one token per 60/perMinute seconds, reserved in the order asked', () => {
    const { reserve } = reserver([bucket(60, 3)]);
    expect([reserve(0), reserve(0), reserve(0)]).toEqual([0, 0, 0]);
    // Past the burst each reservation queues behind the last: no one asks twice, no one overtakes.
    expect(reserve(0)).toBe(1000);
    expect(reserve(500)).toBe(1500);
    expect(reserve(3000)).toBe(0);
  });

  it('a post waits for its channel and the workspace together, and is charged to both as of when it goes', () => {
    const channel = bucket(60, 2, 'channel');
    const workspace = bucket(60, 1, 'workspace');
    const r = reserver([channel, workspace]);
    expect(r.reserve(0)).toBe(0);
    // The workspace is out for a second: so is the post, and its channel token is spent then,
    // not now (a channel refilled meanwhile would let a later burst past Slack's count).
    expect(r.reserve(0)).toBe(1000);
    expect(tokensNow(r.states()[0]!, channel, 0)).toBe(0);
    expect(tokensNow(r.states()[0]!, channel, 1000)).toBe(1);
    // The wait is the slowest bucket's.
    r.set([pausedState(r.states()[0]!, 5000, 0), r.states()[1]!]);
    expect(r.reserve(0)).toBe(5000);
  });

  it('a pause empties the bucket and holds it until the pause ends, then allows one call', () => {
    const b = bucket(60, 5);
    const s = pausedState(freshState(b, 0), 3000, 0);
    expect(readyAt(s, b, 100)).toBe(3000);
    expect(tokensNow(s, b, 2999)).toBe(0);
    const after = reserveAll([s], [b], 3000);
    expect(after.at).toBe(3000);
    expect(reserveAll(after.states, [b], 3000).at).toBe(4000);
  });

  it('a pause keeps the places of writes reserved past it', () => {
    const b = bucket(60, 1);
    const r = reserver([b]);
    expect([r.reserve(0), r.reserve(0), r.reserve(0)]).toEqual([0, 1000, 2000]);
    r.set([pausedState(r.states()[0]!, 1500, 0)]);
    expect(r.reserve(0)).toBe(3000);
  });

  it('refunds never exceed the burst', () => {
    const b = bucket(60, 2);
    expect(tokensNow(refunded(freshState(b, 0), b, 0), b, 0)).toBe(2);
  });

  it('postMessage draws on its channel and on the workspace; other methods on one bucket', () => {
    expect(bucketsFor('chat.postMessage', 'T', 'C1').map((b) => b.key)).toEqual(['T:C1:chat.postMessage', 'T:chat.postMessage']);
    expect(bucketsFor('chat.update', 'T', 'C1').map((b) => b.key)).toEqual(['T:chat.update']);
    expect(bucketsFor('auth.test', 'T')).toEqual([]);
  });

  it('the workspace post budget stays under Slack’s lowest reading of "several hundred per minute"', () => {
    const channel = SLACK_BUDGETS['chat.postMessage']!;
    const workspace = WORKSPACE_BUDGETS['chat.postMessage']!;
    expect(workspace.perMinute).toBeLessThan(300);
    // Without it, a handful of channels at their own full rate would exceed it.
    expect(Math.ceil(workspace.perMinute / channel.perMinute)).toBeLessThan(10);
  });
});
