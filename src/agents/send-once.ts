import { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { delay } from '../ops/delay.js';

/**
 * How a write to the Managed Agents API ended. `found`: an attempt failed with an
 * unknown outcome, and the look-up showed it had landed.
 */
export type OnceOutcome<T> = { kind: 'sent'; value: T } | { kind: 'found'; value: T } | { kind: 'failed'; error: unknown };

export type OnceOptions<T> = {
  /** One attempt; it must be made with `maxRetries: 0` so the SDK does not repeat it unseen. */
  attempt: () => Promise<T>;
  /** Whether an earlier attempt landed after all: its result, or undefined when it did not. */
  lookup: () => Promise<T | undefined>;
  signal?: AbortSignal;
  attempts?: number;
  backoffMs?: number;
};

/**
 * The SDK retries 5xx, 408, 409, 429 and dropped connections on its own, blindly: the
 * API takes no idempotency key, so a retried write that had landed is done twice (a
 * second session, a message sent twice). Here every attempt goes out once; after an
 * unknown outcome (5xx, timeout, dropped connection) the API is asked whether it
 * landed before anything is tried again, also after the last attempt, so a write that
 * did land is never reported as failed.
 */
export async function sendOnce<T>(opts: OnceOptions<T>): Promise<OnceOutcome<T>> {
  const attempts = opts.attempts ?? 3;
  const backoffMs = opts.backoffMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    try {
      return { kind: 'sent', value: await opts.attempt() };
    } catch (e) {
      error = e;
    }
    const uncertain = outcomeUnknown(error);
    if (uncertain) {
      const looked = await lookUp(opts.lookup, attempts, backoffMs, opts.signal);
      if (looked.kind === 'found') return looked;
      // Not knowing is not a reason to write again: a second write might double the first.
      if (looked.kind === 'failed') return looked;
    }
    if (!(uncertain || isRateLimited(error)) || attempt >= attempts) return { kind: 'failed', error };
    try {
      await delay(retryAfterMs(error) ?? backoffMs * 2 ** (attempt - 1), opts.signal);
    } catch {
      return { kind: 'failed', error };
    }
  }
}

/** The look-up after an unknown outcome, itself tried a few times (the API that just failed may fail again). */
async function lookUp<T>(
  lookup: () => Promise<T | undefined>,
  attempts: number,
  backoffMs: number,
  signal?: AbortSignal,
): Promise<{ kind: 'found'; value: T } | { kind: 'absent' } | { kind: 'failed'; error: unknown }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const landed = await lookup();
      return landed === undefined ? { kind: 'absent' } : { kind: 'found', value: landed };
    } catch (error) {
      if (attempt >= attempts || !(outcomeUnknown(error) || isRateLimited(error))) return { kind: 'failed', error };
      try {
        await delay(retryAfterMs(error) ?? backoffMs * 2 ** (attempt - 1), signal);
      } catch {
        return { kind: 'failed', error };
      }
    }
  }
}

/** The request may have been carried out: a server error, a timeout or a connection lost before the answer. */
export function outcomeUnknown(error: unknown): boolean {
  if (error instanceof APIUserAbortError) return false;
  if (error instanceof APIConnectionError) return true;
  return error instanceof APIError && (error.status === 408 || (error.status ?? 0) >= 500);
}

function isRateLimited(error: unknown): boolean {
  return error instanceof APIError && error.status === 429;
}

/** Retry-After (seconds) or retry-after-ms, as the API sends them on a 429 or 529. */
function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof APIError) || !error.headers) return undefined;
  const ms = Number(error.headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.min(ms, 60_000);
  const seconds = Number(error.headers.get('retry-after'));
  if (Number.isFinite(seconds) && seconds > 0) return Math.min(seconds * 1000, 60_000);
  return undefined;
}
