import type { RateLimit } from './types.js';

// Tier numbers from Slack's published rate-limit tiers. Bursts of a full minute's budget for tiered
// methods; postMessage is ~1/s per channel with short bursts, and besides that "several hundred
// per minute" per workspace: the fake reads that as its lowest value, 300/min, with a burst of a
// tenth of it (Slack publishes no burst figure for the workspace limit; these are the fake's).
export const DEFAULT_RATE_LIMITS: Record<string, RateLimit> = {
  'chat.postMessage': { perMinute: 60, burst: 4, perChannel: true, workspace: { perMinute: 300, burst: 30 } },
  'chat.update': { perMinute: 50, burst: 50 },
  'chat.delete': { perMinute: 50, burst: 50 },
  'chat.startStream': { perMinute: 20, burst: 20 },
  'chat.stopStream': { perMinute: 20, burst: 20 },
  'chat.appendStream': { perMinute: 100, burst: 100 },
  'reactions.add': { perMinute: 50, burst: 50 },
  'reactions.remove': { perMinute: 20, burst: 20 },
  'conversations.replies': { perMinute: 50, burst: 50 },
  // Slack's agent surfaces. agents.sessions.* and assistant.threads.setSuggestedPrompts /
  // setTitle are Tier 3 on Slack's method pages; views.publish is Tier 4 there.
  'agents.sessions.setStatus': { perMinute: 50, burst: 50 },
  'agents.sessions.rename': { perMinute: 50, burst: 50 },
  'assistant.threads.setSuggestedPrompts': { perMinute: 50, burst: 50 },
  'assistant.threads.setTitle': { perMinute: 50, burst: 50 },
  'views.publish': { perMinute: 100, burst: 100 },
  // assistant.threads.setStatus is rated "special" by Slack, with no figure: the fake's guess
  // is that it is limited like postMessage, per thread's channel and per workspace.
  'assistant.threads.setStatus': { perMinute: 60, burst: 4, perChannel: true, workspace: { perMinute: 300, burst: 30 } },
};

type Bucket = { tokens: number; at: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: Record<string, RateLimit>,
    private readonly now: () => number,
  ) {}

  /**
   * Takes a token from the call's bucket (and from the workspace's, for a per-channel method
   * that has one too); returns Retry-After seconds when either is empty. A refused call
   * takes nothing from either.
   */
  take(team: string, method: string, channel: unknown): number | undefined {
    const limit = this.limits[method];
    if (!limit) return undefined;
    const now = this.now();
    const own = this.refilled(limit.perChannel ? `${team}:${method}:${String(channel)}` : `${team}:${method}`, limit, now);
    const shared = limit.perChannel && limit.workspace ? this.refilled(`${team}:${method}`, limit.workspace, now) : undefined;
    const waits = [waitSeconds(own, limit), ...(shared && limit.workspace ? [waitSeconds(shared, limit.workspace)] : [])].filter(
      (w): w is number => w !== undefined,
    );
    if (waits.length > 0) return Math.max(...waits);
    own.tokens -= 1;
    if (shared) shared.tokens -= 1;
    return undefined;
  }

  private refilled(key: string, limit: { perMinute: number; burst: number }, now: number): Bucket {
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) * limit.perMinute) / 60_000);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }
}

function waitSeconds(b: Bucket, limit: { perMinute: number }): number | undefined {
  if (b.tokens >= 1) return undefined;
  return Math.max(1, Math.ceil(((1 - b.tokens) * 60_000) / limit.perMinute / 1000));
}
