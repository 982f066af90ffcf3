/**
 * Session spend caps in cents, as the Managed Agents API takes them
 * (`budget: {type:'limit', max_list_cost:{amount:'2500', currency:'USD'}}`). Pure.
 */

export type SpendCap = { capCents: number; maxCents: number };

/** How far a cap may be raised when SESSION_BUDGET_MAX_USD is not set: this many times the cap. */
export const DEFAULT_MAX_FACTOR = 5;

const dollarsToCents = (usd: number): number => Math.round(usd * 100);

/**
 * The cap a new session gets: the profile's `budget_usd` (false: none), else
 * SESSION_BUDGET_USD, else none. The ceiling for raises is SESSION_BUDGET_MAX_USD, never
 * below the cap itself (a profile may set a larger cap than the bot-wide maximum).
 */
export function capForSession(o: {
  profileUsd?: number | false | undefined;
  defaultUsd?: number | undefined;
  maxUsd?: number | undefined;
}): SpendCap | undefined {
  if (o.profileUsd === false) return undefined;
  const usd = o.profileUsd ?? o.defaultUsd;
  if (usd === undefined) return undefined;
  const capCents = dollarsToCents(usd);
  const maxCents = o.maxUsd !== undefined ? Math.max(capCents, dollarsToCents(o.maxUsd)) : capCents * DEFAULT_MAX_FACTOR;
  return { capCents, maxCents };
}

export type Raise = { kind: 'raised'; toCents: number } | { kind: 'at_max'; maxCents: number };

/**
 * One press of Raise the cap: another step of the session's starting cap on top of the
 * current one (a $5 cap goes to $10, then $15), never past the maximum. A step the size
 * of the first cap is something the person already agreed to spend once.
 */
export function nextCap(o: { currentCents: number; stepCents: number; maxCents: number; spentCents?: number }): Raise {
  const step = Math.max(1, o.stepCents);
  const spent = o.spentCents ?? 0;
  // The API takes only a cap above what was spent (a request can overshoot the cap a little).
  const base = o.currentCents + step > spent ? o.currentCents : spent;
  const toCents = Math.min(base + step, o.maxCents);
  if (o.currentCents >= o.maxCents || toCents <= spent) return { kind: 'at_max', maxCents: o.maxCents };
  return { kind: 'raised', toCents };
}

export const budgetParam = (cents: number) => ({ type: 'limit' as const, max_list_cost: { amount: String(cents), currency: 'USD' as const } });

/** `$12.50` */
export const formatCents = (cents: number): string => `$${(cents / 100).toFixed(2)}`;
