/**
 * Slack's published rate tiers as token buckets. Pure: the caller passes the time.
 * Rates sit ~10% under Slack's, so that requests bunched by network jitter or event-loop
 * lag still fit: at a sustained full rate Slack's bucket is empty, and any request that
 * arrives a little early is a 429 (seen with postMessage at exactly 1/s in 1000 threads).
 * The same arithmetic runs in Redis for replicas that share one budget
 * (`redis-budget-store.ts`); change both together.
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

/**
 * Limits a method has besides its own. postMessage is ~1/s per channel and also "several
 * hundred per minute" per workspace: read as its lowest value, 300/min, and kept 10% under it
 * like the tiers. Many channels each inside their own budget can together exceed it. A small
 * burst: every channel's first post of a busy minute draws from this one bucket.
 */
export const WORKSPACE_BUDGETS: Readonly<Record<string, MethodBudget>> = {
  'chat.postMessage': { perMinute: 270, burst: 10, scope: 'workspace' },
  // Rated by Slack like postMessage (per channel, above): read as its workspace limit too.
  'assistant.threads.setStatus': { perMinute: 270, burst: 10, scope: 'workspace' },
};

/** One bucket a write draws from: where its state lives and how fast it refills. */
export type Bucket = { key: string; perMinute: number; burst: number };

function bucketKey(method: string, budget: MethodBudget, team: string, channel?: string): string {
  return budget.scope === 'channel' ? `${team}:${channel ?? '-'}:${method}` : `${team}:${method}`;
}

/** Every bucket one write takes a token from (none for an unbudgeted method), its own first. */
export function bucketsFor(method: string, team: string, channel?: string): Bucket[] {
  return [SLACK_BUDGETS[method], WORKSPACE_BUDGETS[method]]
    .filter((b): b is MethodBudget => b !== undefined)
    .map((b) => ({ key: bucketKey(method, b, team, channel), perMinute: b.perMinute, burst: b.burst }));
}

/** A bucket's state: tokens as of `at`, and nothing at all before `pausedUntil`. */
export type BucketState = { tokens: number; at: number; pausedUntil: number };

export function freshState(bucket: Bucket, now: number): BucketState {
  return { tokens: bucket.burst, at: now, pausedUntil: 0 };
}

export function refilled(state: BucketState, bucket: Bucket, now: number): BucketState {
  const elapsed = Math.max(0, now - state.at);
  return {
    tokens: Math.min(bucket.burst, state.tokens + (elapsed * bucket.perMinute) / 60_000),
    at: Math.max(now, state.at),
    pausedUntil: state.pausedUntil,
  };
}

/**
 * When the bucket will next hold a whole token: now if it does, never before the end of a
 * pause, and never before the write reserved last (`at` in the future: see `reserveAll`).
 */
export function readyAt(state: BucketState, bucket: Bucket, now: number): number {
  const base = Math.max(now, state.at);
  const s = refilled(state, bucket, base);
  const ready = s.tokens >= 1 ? base : base + Math.ceil(((1 - s.tokens) * 60_000) / bucket.perMinute);
  return Math.max(ready, state.pausedUntil);
}

/**
 * Tokens there now (for "can I afford a stream?" decisions); below zero while writes
 * reserved for later (`reserveAll`) still have tokens to come.
 */
export function tokensNow(state: BucketState, bucket: Bucket, now: number): number {
  if (now < state.pausedUntil) return 0;
  const s = refilled(state, bucket, now);
  return s.at > now ? s.tokens - ((s.at - now) * bucket.perMinute) / 60_000 : s.tokens;
}

/**
 * One token from every bucket at the earliest time all of them have one: the write is the
 * caller's at `at` (now, or later), and nobody else's. Each bucket is charged as of `at`,
 * the time the write goes out, so a post that waits for the workspace's token does not leave
 * its channel's bucket thinking it refilled meanwhile. A later reservation queues behind it:
 * waiting writes get their tokens first come, first served, whichever replica asks, with no
 * asking again.
 */
export function reserveAll(states: readonly BucketState[], buckets: readonly Bucket[], now: number): { at: number; states: BucketState[] } {
  const at = Math.max(now, ...states.map((s, i) => readyAt(s, buckets[i]!, now)));
  return { at, states: states.map((s, i) => withTokens(refilled(s, buckets[i]!, at), (t) => t - 1)) };
}

/** Gives back a token taken for a write that turned out unnecessary (never past the burst). */
export function refunded(state: BucketState, bucket: Bucket, now: number): BucketState {
  return withTokens(refilled(state, bucket, now), (t) => Math.min(bucket.burst, t + 1));
}

/**
 * Slack said 429: nothing from this bucket until Retry-After has passed, then one call.
 * Writes reserved past the pause keep their places (and the one call is theirs).
 */
export function pausedState(state: BucketState, until: number, now: number): BucketState {
  const pausedUntil = Math.max(state.pausedUntil, until);
  if (state.at > pausedUntil) return { tokens: Math.min(state.tokens, 1), at: state.at, pausedUntil };
  return { tokens: 1, at: Math.max(now, pausedUntil), pausedUntil };
}

function withTokens(s: BucketState, f: (t: number) => number): BucketState {
  return { ...s, tokens: f(s.tokens) };
}
