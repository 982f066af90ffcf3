import { unreachable } from '../ops/unreachable.js';

/** A `session.error` as the fold keeps it: the API's error type and its message. */
export type AgentError = { type: string; message: string };

/** Why the session is waiting, failing or retrying, as the fold records it (the status line words it). */
export type StateDetail =
  /** `session.status_rescheduled`. */
  | { kind: 'rescheduled' }
  | { kind: 'deleted' }
  | { kind: 'agent_error'; error: AgentError; retrying: boolean }
  | { kind: 'retries_exhausted' }
  | { kind: 'budget_reached' }
  /** The model declined; `explanation` is the API's, when it gave one. */
  | { kind: 'refused'; explanation?: string | undefined };

/** The status line's words for a detail, in the middle of a sentence. */
export function detailWords(d: StateDetail): string {
  switch (d.kind) {
    case 'rescheduled':
      return 'a temporary problem on the agent side; retrying';
    case 'deleted':
      return 'the session was deleted';
    case 'agent_error':
      return d.retrying ? `${agentErrorWords(d.error)}; retrying` : agentErrorWords(d.error);
    case 'retries_exhausted':
      return 'the agent gave up after repeated errors';
    case 'budget_reached':
      return 'the session reached its spending budget';
    case 'refused':
      return d.explanation ?? 'the model declined this request';
    default:
      return unreachable(d);
  }
}

/** An agent error in the thread and on the status line: what went wrong, then the API's message. */
export function agentErrorWords(e: AgentError): string {
  const words = errorTypeWords(e.type);
  return e.message ? `${words}: ${e.message}` : words;
}

/** The API names more error types over time: the ones it documents have words, the rest a general sentence. */
function errorTypeWords(type: string): string {
  switch (type) {
    case 'model_overloaded_error':
      return 'The model is overloaded right now';
    case 'model_rate_limited_error':
      return 'The model is rate limited right now';
    case 'model_request_failed_error':
      return 'A request to the model failed';
    case 'mcp_connection_failed_error':
      return 'The agent could not reach one of its MCP servers';
    case 'mcp_authentication_failed_error':
      return 'One of the agent’s MCP servers rejected its credentials';
    case 'billing_error':
      return 'The Anthropic account has a billing problem';
    case 'tool_use_limit_reached_error':
      return 'The agent hit its limit on tool calls';
    case 'compaction_limit_reached_error':
      return 'The conversation grew too long to continue';
    case 'credential_host_unreachable_error':
      return 'A credential host could not be reached';
    default:
      return type.startsWith('repository_') ? 'The agent could not use its repository' : 'The agent hit an error';
  }
}
