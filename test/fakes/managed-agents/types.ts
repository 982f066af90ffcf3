/**
 * Public shapes of the fake. Objects mirror the SDK 1.13 response types closely enough for the
 * real client, but are typed loosely (unknown for nested config) so tests can poke at them
 * without depending on SDK internals.
 */

/** A session event as persisted/streamed. Stream-only previews (`event_start`/`event_delta`) have no id. */
export interface Event {
  id: string;
  type: string;
  processed_at: string | null;
  [key: string]: unknown;
}

export interface AgentObj {
  id: string;
  type: 'agent';
  name: string;
  description: string | null;
  model: { id: string; effort?: { type: string }; speed?: string; inference_geo?: string };
  system: string | null;
  tools: unknown[];
  mcp_servers: unknown[];
  skills: unknown[];
  metadata: Record<string, string>;
  multiagent: unknown;
  execution_identity: unknown;
  version: number;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface EnvObj {
  id: string;
  type: 'environment';
  name: string;
  description: string | null;
  config: { type: 'cloud' | 'self_hosted'; [key: string]: unknown };
  metadata: Record<string, string>;
  scope?: 'organization' | 'account';
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export type SessionStatus = 'idle' | 'running' | 'rescheduling' | 'terminated';

export interface SessionAgentSnapshot {
  id: string;
  type: 'agent';
  version: number;
  name: string;
  [key: string]: unknown;
}

export interface SessionUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  [key: string]: unknown;
}

export interface SessionObj {
  id: string;
  type: 'session';
  status: SessionStatus;
  title: string | null;
  agent: SessionAgentSnapshot;
  environment_id: string;
  metadata: Record<string, string>;
  resources: unknown[];
  vault_ids: string[];
  usage: SessionUsage;
  stats: { active_seconds?: number; duration_seconds?: number };
  budget: unknown;
  outcome_evaluations: unknown[];
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

/** Files API `FileMetadata` (the SDK's type of that name is the final word). */
export interface FileObj {
  id: string;
  type: 'file';
  filename: string;
  mime_type: string;
  size_bytes: number;
  created_at: string;
  downloadable?: boolean;
  expires_at?: string;
  scope?: { type: 'session'; id: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  at: number;
}

export interface FailureMatch {
  method?: string;
  /** A string must equal the request pathname exactly (e.g. `/v1/agents`); use a RegExp for patterns. */
  path: RegExp | string;
}

export interface Failure {
  status: number;
  errorType?: string;
  message?: string;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Carry the request out first, then answer with the error: a write that landed but looked failed. */
  afterApply?: boolean;
  /** Reset the connection instead of answering (`status` is then never sent): with `afterApply`, a write that landed and whose answer was lost. */
  drop?: boolean;
}

export type TurnScript = (turn: Turn) => Promise<void>;

/**
 * One agent turn: the script runs between `span.model_request_start` and the closing
 * `span.model_request_end` + `session.status_idle`. Every method rejects with an AbortError once
 * the turn is over (interrupt, terminal error, delete, fake closed), so a stale script cannot
 * emit events into a later turn.
 */
export interface Turn {
  sessionId: string;
  /** Text blocks of the user.message processed in this turn, joined with "\n". */
  text: string;
  /** Every content block of that user.message (text, image, document), as sent. */
  content: unknown[];
  /** The session's resources when the turn started (file mounts with their copy's file_id and mount_path). */
  resources: unknown[];
  /**
   * The agent writes a file to /mnt/session/outputs/: a downloadable file scoped to the session,
   * listed by `files.list({scope_id})`. `hiddenForLists`: that many scoped list requests miss it
   * first, as outputs appear a moment after the idle event (as the API documents).
   */
  writeOutput(filename: string, content: string | Uint8Array, opts?: { mimeType?: string; hiddenForLists?: number }): Promise<FileObj>;
  /** Names of the custom tools the session's agent declares: a model only calls tools it was given. */
  customTools: string[];
  /** Aborted when the turn ends early: user.interrupt, exhausted/terminal error, delete/archive, close(). */
  signal: AbortSignal;
  message(text: string, opts?: { deltas?: string[] }): Promise<void>;
  /** `agent.thinking`, preceded by an `event_start` preview on connections that asked for agent.thinking. */
  thinking(): Promise<void>;
  /** `until`: the tool runs (no result yet) until that gate is released. */
  toolUse(name: string, input: Record<string, unknown>, result?: { text?: string; isError?: boolean; until?: string }): Promise<string>;
  /**
   * Ask-gated built-in tool (`evaluated_permission:'ask'`): blocks with requires_action until the client
   * sends `user.tool_confirmation`; on allow emits `agent.tool_result` with `result`, on deny an
   * error result carrying the deny_message.
   */
  confirmToolUse(
    name: string,
    input: Record<string, unknown>,
    result?: { text?: string; isError?: boolean },
  ): Promise<{ result: 'allow' | 'deny'; deny_message?: string | null }>;
  customTool(name: string, input: unknown): Promise<{ content: unknown; is_error?: boolean }>;
  error(type: string, message: string, retryStatus: 'retrying' | 'exhausted' | 'terminal'): Promise<void>;
  /**
   * Reports usage (`session.usage`, with `list_cost` at the model's list price). When the
   * session's budget is reached it idles with `budget_reached` and this waits until the
   * budget is raised or removed (`sessions.update`), then the turn goes on.
   */
  usage(u: { input_tokens: number; output_tokens: number }): Promise<void>;
  wait(ms: number): Promise<void>;
  gate(name: string): Promise<void>;
}

export interface FakeManagedAgents {
  url: string;
  close(): Promise<void>;
  agents: Map<string, AgentObj>;
  environments: Map<string, EnvObj>;
  /** Live session objects (mutated in place as status changes); deleted sessions are removed. */
  sessions: Map<string, SessionObj>;
  events(sessionId: string): Event[];
  received(sessionId: string): Event[];
  requests: RecordedRequest[];
  onTurn: TurnScript;
  /** Every Files API file (uploads, outputs, session copies), by id. */
  readonly files: Map<string, FileObj>;
  fileBytes(id: string): Buffer | undefined;
  /** Not used: previews are driven per connection by `event_deltas[]` (kept for interface compatibility). */
  streamDeltas?: boolean;
  /** Errors thrown by `onTurn` scripts (other than aborts); each also ends its turn with retries_exhausted. */
  scriptErrors: unknown[];
  /** Checked before auth and routing; rules are consumed first-registered-first. */
  failNext(match: FailureMatch, failure: Failure): void;
  /**
   * The next matching request waits, unanswered and not yet carried out, until `release(gate)`.
   * `afterApply`: it is carried out at once and only its answer waits (a process that dies
   * before hearing back never gets it: the fake resets the connection when it closes).
   */
  holdNext(match: FailureMatch, gate: string, opts?: { afterApply?: boolean }): void;
  /**
   * Open streams of the session go mute: the connection stays open but carries nothing
   * more, neither events nor keep-alives (a half-open connection), while the session
   * goes on. Streams opened later are normal.
   */
  silenceStreams(sessionId: string): void;
  /** 'end' finishes the body cleanly (SDK iteration just completes); 'destroy' resets the socket (iteration throws). */
  dropStreams(sessionId?: string, mode?: 'end' | 'destroy'): void;
  openStreams(sessionId?: string): number;
  waitFor<T>(predicate: () => T | undefined | false | null, timeoutMs?: number): Promise<T>;
  emit(sessionId: string, event: Record<string, unknown>): Event;
  /** Opens one pass of `turn.gate(name)`; passes are counted, so releasing before the script reaches the gate works. */
  release(name: string): void;
}
