import { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { apiProblemWords, type ApiFailure } from '../words/api-problems.js';

export type ApiProblem = {
  /** One sentence for the person in Slack. */
  words: string;
  status?: number;
  requestId?: string;
  type?: string;
  /** Worth trying again later (429, 5xx, network). */
  transient: boolean;
};

/** Anthropic API failures in plain words, with what the log needs to follow up. */
export function describeApiError(error: unknown, doing: string): ApiProblem {
  const { failure, transient, ...base } = classifyApiError(error);
  return { ...base, transient, words: apiProblemWords(failure, doing) };
}

/** Which failure an SDK error is; the words for each are `apiProblemWords`'. */
function classifyApiError(error: unknown): Omit<ApiProblem, 'words'> & { failure: ApiFailure } {
  if (error instanceof APIUserAbortError) return { failure: { kind: 'cancelled' }, transient: true };
  if (error instanceof APIConnectionError) return { failure: { kind: 'unreachable' }, transient: true };
  if (!(error instanceof APIError)) return { failure: { kind: 'unknown' }, transient: false };
  const base = {
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.requestID ? { requestId: error.requestID } : {}),
    ...(error.type ? { type: error.type } : {}),
  };
  const status = error.status ?? 0;
  const as = (failure: ApiFailure, transient: boolean) => ({ ...base, failure, transient });
  // Spend caps (session budget): reasons the API names in error.details.error_code.
  if (error.errorCode === 'model_not_budgetable') return as({ kind: 'model_not_budgetable' }, false);
  if (error.errorCode === 'budget_reached') return as({ kind: 'budget_reached' }, false);
  if (status === 401) return as({ kind: 'unauthorized' }, false);
  if (status === 403) return as({ kind: 'forbidden' }, false);
  if (status === 404) return as({ kind: 'not_found' }, false);
  if (status === 409) return as({ kind: 'conflict' }, false);
  if (status === 429) return as({ kind: 'rate_limited' }, true);
  if (status >= 500) return as({ kind: 'server_error' }, true);
  if (status === 400)
    return as({ kind: 'bad_request', message: error.error && typeof error.error === 'object' ? extractMessage(error.error) : error.message }, false);
  return as({ kind: 'other_status', status }, false);
}

function extractMessage(body: object): string {
  const inner = (body as { error?: { message?: unknown } }).error;
  return typeof inner?.message === 'string' ? inner.message : 'invalid request';
}

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof APIError && error.status === status;
}
