import type { RateLimit } from './types.js';

// Tier numbers from Slack's published rate-limit tiers. Bursts of a full minute's budget for tiered
// methods; postMessage is ~1/s per channel with short bursts.
export const DEFAULT_RATE_LIMITS: Record<string, RateLimit> = {
  'chat.postMessage': { perMinute: 60, burst: 4, perChannel: true },
  'chat.update': { perMinute: 50, burst: 50 },
  'chat.delete': { perMinute: 50, burst: 50 },
  'chat.startStream': { perMinute: 20, burst: 20 },
  'chat.stopStream': { perMinute: 20, burst: 20 },
  'chat.appendStream': { perMinute: 100, burst: 100 },
  'reactions.add': { perMinute: 50, burst: 50 },
  'reactions.remove': { perMinute: 20, burst: 20 },
  'conversations.replies': { perMinute: 50, burst: 50 },
};

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limits: Record<string, RateLimit>,
    private readonly now: () => number,
  ) {}

  /** Takes a token; returns Retry-After seconds when the bucket is empty. */
  take(team: string, method: string, channel: unknown): number | undefined {
    const limit = this.limits[method];
    if (!limit) return undefined;
    const key = limit.perChannel ? `${team}:${method}:${String(channel)}` : `${team}:${method}`;
    const perMs = limit.perMinute / 60_000;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }
}
