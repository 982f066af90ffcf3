/**
 * Slack's published rate tiers as token buckets. Pure: the caller passes the time.
 * Rates sit ~10% under Slack's, so that requests bunched by network jitter or event-loop
 * lag still fit: at a sustained full rate Slack's bucket is empty, and any request that
 * arrives a little early is a 429 (seen with postMessage at exactly 1/s in 1000 threads).
 */
export type Scope = 'workspace' | 'channel';
export type MethodBudget = { perMinute: number; burst: number; scope: Scope };

export const SLACK_BUDGETS: Readonly<Record<string, MethodBudget>> = {
  // "about one message per second per channel, with short bursts". A burst of 2, not more:
  // posts delayed on the way arrive together, and Slack's bucket starts at the first one it
  // sees (a burst of 3 drew one 429 per channel when 1,000 sessions started at once).
  'chat.postMessage': { perMinute: 54, burst: 2, scope: 'channel' },
  'chat.postEphemeral': { perMinute: 90, burst: 10, scope: 'workspace' },
  // Tier 4; a trigger_id lives 3 s, so the dialog must never wait behind thread writes.
  'views.open': { perMinute: 90, burst: 10, scope: 'workspace' },
  // Tier 3
  'chat.update': { perMinute: 45, burst: 8, scope: 'workspace' },
  'chat.delete': { perMinute: 45, burst: 8, scope: 'workspace' },
  'reactions.add': { perMinute: 45, burst: 8, scope: 'workspace' },
  'conversations.replies': { perMinute: 45, burst: 8, scope: 'workspace' },
  'conversations.join': { perMinute: 45, burst: 8, scope: 'workspace' },
  // Tier 2
  'chat.startStream': { perMinute: 18, burst: 5, scope: 'workspace' },
  'chat.stopStream': { perMinute: 18, burst: 5, scope: 'workspace' },
  'reactions.remove': { perMinute: 18, burst: 5, scope: 'workspace' },
  // Tier 4
  'chat.appendStream': { perMinute: 90, burst: 8, scope: 'workspace' },
  'files.getUploadURLExternal': { perMinute: 90, burst: 8, scope: 'workspace' },
  'files.completeUploadExternal': { perMinute: 90, burst: 8, scope: 'workspace' },
  // Slack's agent surfaces. agents.sessions.* and the prompts/title of assistant.threads are
  // Tier 3; setStatus (loading messages) is rated like postMessage, per channel; views.publish is Tier 4.
  'agents.sessions.setStatus': { perMinute: 45, burst: 8, scope: 'workspace' },
  'agents.sessions.rename': { perMinute: 45, burst: 8, scope: 'workspace' },
  'assistant.threads.setStatus': { perMinute: 54, burst: 2, scope: 'channel' },
  'assistant.threads.setSuggestedPrompts': { perMinute: 45, burst: 8, scope: 'workspace' },
  'assistant.threads.setTitle': { perMinute: 45, burst: 8, scope: 'workspace' },
  'views.publish': { perMinute: 90, burst: 10, scope: 'workspace' },
  // Tier 4; who is a guest (access rules), cached by SlackAccounts.
  'users.info': { perMinute: 90, burst: 10, scope: 'workspace' },
};

/** Methods without a budget (auth.test, reads we rarely make) are not throttled here. */
export function budgetFor(method: string): MethodBudget | undefined {
  return SLACK_BUDGETS[method];
}

export function bucketKey(method: string, budget: MethodBudget, team: string, channel?: string): string {
  return budget.scope === 'channel' ? `${team}:${channel ?? '-'}:${method}` : `${team}:${method}`;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private pausedUntil = 0;

  constructor(
    private readonly budget: MethodBudget,
    now: number,
  ) {
    this.tokens = budget.burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.budget.burst, this.tokens + (elapsed * this.budget.perMinute) / 60_000);
    this.updatedAt = now;
  }

  /** Takes a token if one is available now. */
  take(now: number): boolean {
    if (now < this.pausedUntil) return false;
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Gives back a token taken for a write that turned out unnecessary. */
  refund(now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.budget.burst, this.tokens + 1);
  }

  /** When the next token will be there (now if one is). */
  readyAt(now: number): number {
    if (now < this.pausedUntil) return this.pausedUntil;
    this.refill(now);
    if (this.tokens >= 1) return now;
    return now + Math.ceil(((1 - this.tokens) * 60_000) / this.budget.perMinute);
  }

  /** Slack said 429: nothing for this bucket until Retry-After has passed, then one call. */
  pause(until: number, now: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.tokens = 1;
    this.updatedAt = Math.max(now, this.pausedUntil);
  }

  /** Tokens available now (for "can I afford a stream?" decisions). */
  available(now: number): number {
    if (now < this.pausedUntil) return 0;
    this.refill(now);
    return this.tokens;
  }
}
