import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agents/events.js';
import type { FollowOptions } from '../../../src/agents/session-events.js';
import { StreamFollower } from '../../../src/bridge/runner/stream-follower.js';

/**
 * A stand-in for SessionEvents.follow: each call is one stream, ready at once unless
 * told to fail; `push` delivers a batch to the newest stream, which ends when its
 * batch handler says stop or its signal aborts.
 */
function fakeStreams(o: { fail?: Error } = {}) {
  const opened: FollowOptions[] = [];
  let last: { opts: FollowOptions; end: () => void } | undefined;
  const follow = (opts: FollowOptions) =>
    new Promise<void>((resolve, reject) => {
      opened.push(opts);
      if (o.fail) return reject(o.fail);
      last = { opts, end: resolve };
      opts.signal.addEventListener('abort', () => resolve(), { once: true });
      opts.onReady?.();
    });
  const push = (events: AgentEvent[]) => {
    if (last!.opts.onEvents(events) === 'stop') last!.end();
  };
  return { follow, opened, push };
}

const event = (id: string, at: string) => ({ type: 'agent.message', id, processed_at: at, content: [] }) as unknown as AgentEvent;

function setup(o: { fail?: Error } = {}) {
  const streams = fakeStreams(o);
  const seen: string[] = [];
  const failures: unknown[] = [];
  let wanted = true;
  let closedCalls = 0;
  let lastAt: string | undefined;
  const lifetime = new AbortController();
  const follower = new StreamFollower({
    follow: streams.follow,
    onEvents: (events) => {
      for (const e of events) {
        seen.push(e.id);
        lastAt = e.processed_at ?? lastAt;
      }
    },
    wanted: () => wanted,
    lastProcessedAt: () => lastAt,
    onFailure: (error) => void failures.push(error),
    onClosed: () => {
      closedCalls += 1;
    },
    signal: lifetime.signal,
  });
  return { follower, streams, seen, failures, lifetime, want: (w: boolean) => (wanted = w), closedCalls: () => closedCalls };
}

describe('stream follower', () => {
  it('opens one stream for callers at once, reading the whole history the first time', async () => {
    const s = setup();
    await Promise.all([s.follower.open(), s.follower.open()]);
    expect(s.streams.opened).toHaveLength(1);
    expect(s.streams.opened[0]!.since).toBeUndefined();
    expect(s.follower.closed).toBe(false);
  });

  it('stops when a batch shows nothing wants it, and reopens from the last folded event', async () => {
    const s = setup();
    await s.follower.open();
    s.streams.push([event('e1', '2026-01-01T00:00:01Z')]);
    s.want(false);
    s.streams.push([event('e2', '2026-01-01T00:00:02Z')]);
    await s.follower.wound();
    expect(s.follower.closed).toBe(true);
    expect(s.closedCalls()).toBe(1);
    s.want(true);
    await s.follower.open();
    expect(s.streams.opened).toHaveLength(2);
    expect(s.streams.opened[1]!.since).toBe('2026-01-01T00:00:02Z');
    expect(s.seen).toEqual(['e1', 'e2']);
  });

  it('stopIfUnwanted closes only when nothing wants the stream', async () => {
    const s = setup();
    await s.follower.open();
    s.follower.stopIfUnwanted();
    expect(s.follower.closed).toBe(false);
    s.want(false);
    s.follower.stopIfUnwanted();
    await s.follower.wound();
    expect(s.follower.closed).toBe(true);
  });

  it('a stream that fails for good is reported once and its callers are told', async () => {
    const s = setup({ fail: new Error('gone') });
    await expect(s.follower.open()).rejects.toThrow('gone');
    await s.follower.wound();
    expect(s.failures).toEqual([new Error('gone')]);
    expect(s.follower.closed).toBe(true);
  });

  it('a failure while shutting down is not reported as one', async () => {
    const s = setup({ fail: new Error('aborted') });
    s.lifetime.abort();
    await expect(s.follower.open()).rejects.toThrow('aborted');
    await s.follower.wound();
    expect(s.failures).toEqual([]);
  });
});
