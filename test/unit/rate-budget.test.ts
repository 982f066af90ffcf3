import { describe, expect, it } from 'vitest';
import {
  SLACK_BUDGETS,
  WORKSPACE_BUDGETS,
  bucketsFor,
  freshState,
  pausedState,
  readyAt,
  refunded,
  takeAll,
  tokensNow,
  type Bucket,
  type BucketState,
} from '../../src/delivery/rate-budget.js';

const bucket = (perMinute: number, burst: number, key = 'b'): Bucket => ({ key, perMinute, burst });

/** Takes from `buckets` at `now` and returns the outcome kind, keeping the states. */
function taker(buckets: Bucket[]) {
  let states: BucketState[] = buckets.map((b) => freshState(b, 0));
  return (now: number) => {
    const r = takeAll(states, buckets, now);
    states = r.states;
    return r.outcome;
  };
}

describe('rate budget arithmetic', () => {
  it('allows a burst, then one token per 60/perMinute seconds', () => {
    const take = taker([bucket(60, 3)]);
    expect([take(0), take(0), take(0)].map((o) => o.kind)).toEqual(['granted', 'granted', 'granted']);
    expect(take(0)).toEqual({ kind: 'wait', until: 1000 });
    expect(take(999).kind).toBe('wait');
    expect(take(1000).kind).toBe('granted');
  });

  it('takes from every bucket or none: a post the workspace cannot afford keeps its channel token', () => {
    const channel = bucket(60, 2, 'channel');
    const workspace = bucket(60, 1, 'workspace');
    let states = [freshState(channel, 0), freshState(workspace, 0)];
    let r = takeAll(states, [channel, workspace], 0);
    expect(r.outcome.kind).toBe('granted');
    states = r.states;
    r = takeAll(states, [channel, workspace], 0);
    expect(r.outcome).toEqual({ kind: 'wait', until: 1000 });
    expect(tokensNow(r.states[0]!, channel, 0)).toBe(1);
    // The wait is the slowest bucket's.
    const paused = [pausedState(r.states[0]!, 5000, 0), r.states[1]!];
    expect(takeAll(paused, [channel, workspace], 0).outcome).toEqual({ kind: 'wait', until: 5000 });
  });

  it('a pause empties the bucket and holds it until the pause ends, then allows one call', () => {
    const b = bucket(60, 5);
    const s = pausedState(freshState(b, 0), 3000, 0);
    expect(readyAt(s, b, 100)).toBe(3000);
    expect(tokensNow(s, b, 2999)).toBe(0);
    const after = takeAll([s], [b], 3000);
    expect(after.outcome.kind).toBe('granted');
    expect(takeAll(after.states, [b], 3000).outcome.kind).toBe('wait');
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
