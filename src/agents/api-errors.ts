import { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';

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
  if (error instanceof APIUserAbortError) return { words: `${doing} was cancelled`, transient: true };
  if (error instanceof APIConnectionError) {
    return { words: `Could not reach Anthropic while ${doing}. Try again in a moment.`, transient: true };
  }
  if (error instanceof APIError) {
    const base = {
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.requestID ? { requestId: error.requestID } : {}),
      ...(error.type ? { type: error.type } : {}),
    };
    const status = error.status ?? 0;
    // Spend caps (session budget): reasons the API names in error.details.error_code.
    if (error.errorCode === 'model_not_budgetable') {
      return {
        ...base,
        transient: false,
        words: 'This agent’s model has no public list price, so its spend cap cannot be enforced and no session was started. An admin can run it without a cap (budget_usd: false in its profile).',
      };
    }
    if (error.errorCode === 'budget_reached') {
      return { ...base, transient: false, words: 'The session is paused at its spend cap. Raise the cap with the button in the thread first.' };
    }
    if (status === 401) return { ...base, transient: false, words: `Anthropic rejected the bot's API key while ${doing}. An admin needs to check ANTHROPIC_API_KEY.` };
    if (status === 403) return { ...base, transient: false, words: `The bot's Anthropic key is not allowed to do this (${doing}).` };
    if (status === 404) return { ...base, transient: false, words: `Anthropic could not find the configured agent, environment or session while ${doing}. An admin needs to check AGENT_ID and ENVIRONMENT_ID.` };
    if (status === 409) return { ...base, transient: false, words: `The session can no longer take input (it has ended or changed) while ${doing}. Start a new one with /agent.` };
    if (status === 429) return { ...base, transient: true, words: `Anthropic is rate limiting the bot while ${doing}. Try again in a minute.` };
    if (status >= 500) return { ...base, transient: true, words: `Anthropic had a server error while ${doing}. Try again in a moment.` };
    if (status === 400) return { ...base, transient: false, words: `Anthropic refused the request while ${doing}: ${error.error && typeof error.error === 'object' ? extractMessage(error.error) : error.message}` };
    return { ...base, transient: false, words: `Anthropic returned an error (${status}) while ${doing}.` };
  }
  return { words: `Something went wrong while ${doing}.`, transient: false };
}

function extractMessage(body: object): string {
  const inner = (body as { error?: { message?: unknown } }).error;
  return typeof inner?.message === 'string' ? inner.message : 'invalid request';
}

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof APIError && error.status === status;
}
