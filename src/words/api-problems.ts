/**
 * Anthropic API failures as a person reads them. `describeApiError` (src/agents/api-errors.ts)
 * sorts an SDK error into one of these kinds; the words are chosen here, without the SDK.
 * `doing` names what the bot was doing ("sending your message"), in the middle of a sentence.
 */
export type ApiFailure =
  | { kind: 'cancelled' }
  | { kind: 'unreachable' }
  /** Spend caps: reasons the API names in error.details.error_code. */
  | { kind: 'model_not_budgetable' }
  | { kind: 'budget_reached' }
  | { kind: 'unauthorized' }
  | { kind: 'forbidden' }
  | { kind: 'not_found' }
  | { kind: 'conflict' }
  | { kind: 'rate_limited' }
  | { kind: 'server_error' }
  /** `message`: what the API said was wrong with the request. */
  | { kind: 'bad_request'; message: string }
  | { kind: 'other_status'; status: number }
  | { kind: 'unknown' };

export function apiProblemWords(f: ApiFailure, doing: string): string {
  switch (f.kind) {
    case 'cancelled':
      return `${doing} was cancelled`;
    case 'unreachable':
      return `Could not reach Anthropic while ${doing}. Try again in a moment.`;
    case 'model_not_budgetable':
      return 'This agent’s model has no public list price, so its spend cap cannot be enforced and no session was started. An admin can run it without a cap (budget_usd: false in its profile).';
    case 'budget_reached':
      return 'The session is paused at its spend cap. Raise the cap with the button in the thread first.';
    case 'unauthorized':
      return `Anthropic rejected the bot's API key while ${doing}. An admin needs to check ANTHROPIC_API_KEY.`;
    case 'forbidden':
      return `The bot's Anthropic key is not allowed to do this (${doing}).`;
    case 'not_found':
      return `Anthropic could not find the configured agent, environment or session while ${doing}. An admin needs to check AGENT_ID and ENVIRONMENT_ID.`;
    case 'conflict':
      return `The session can no longer take input (it has ended or changed) while ${doing}. Start a new one with /agent.`;
    case 'rate_limited':
      return `Anthropic is rate limiting the bot while ${doing}. Try again in a minute.`;
    case 'server_error':
      return `Anthropic had a server error while ${doing}. Try again in a moment.`;
    case 'bad_request':
      return `Anthropic refused the request while ${doing}: ${f.message}`;
    case 'other_status':
      return `Anthropic returned an error (${f.status}) while ${doing}.`;
    case 'unknown':
      return `Something went wrong while ${doing}.`;
  }
}
