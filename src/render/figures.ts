import type { ThreadState } from '../bridge/thread-state.js';

/** Numbers as people read them on the status line and the turn's usage line. */

export function turnElapsed(state: ThreadState, now = Date.now()): string | undefined {
  if (!state.turnStartedAt) return undefined;
  const end = state.turnEndedAt ? Date.parse(state.turnEndedAt) : now;
  const seconds = Math.max(0, Math.round((end - Date.parse(state.turnStartedAt)) / 1000));
  if (!Number.isFinite(seconds)) return undefined;
  return formatSeconds(seconds);
}

export function formatTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

export function formatCost(cost: { amount: string; currency: string }): string {
  const cents = Number(cost.amount);
  if (!Number.isFinite(cents)) return '';
  return cost.currency === 'USD' ? `$${(cents / 100).toFixed(2)}` : `${(cents / 100).toFixed(2)} ${cost.currency}`;
}

export function formatSeconds(seconds: number): string {
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}
