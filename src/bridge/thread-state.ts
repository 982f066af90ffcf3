import type { AgentEvent, UsageSnapshot } from '../agents/events.js';
import { textOf } from '../agents/events.js';
import { ASK_USER, AskUserInput } from '../agents/tools/ask-user.js';
import { unreachable } from '../ops/unreachable.js';
import type { AgentError, StateDetail } from '../words/agent-state.js';

/**
 * What a thread shows, folded from the session's events. Pure data: rendering and
 * delivery derive everything from it, so a restart only has to fold the history again.
 */
export type Phase = 'starting' | 'running' | 'waiting' | 'idle' | 'terminated';
export type Outcome = 'done' | 'stopped' | 'failed' | 'refused' | 'budget';

export type ToolLine = {
  eventId: string;
  name: string;
  input: unknown;
  status: 'running' | 'done' | 'failed' | 'waiting';
};

export type Item =
  | { kind: 'text'; id: string; text: string; turn: number }
  /** One activity surface per turn, placed where the turn's first tool call happened. */
  | { kind: 'tools'; id: string; tools: ToolLine[]; turn: number }
  | { kind: 'error'; id: string; error: AgentError; turn: number }
  /** A tool call waiting for a person's Approve/Deny (`evaluated_permission: ask`). */
  | { kind: 'approval'; id: string; name: string; input: unknown; turn: number; state: 'pending' | 'allowed' | 'denied' | 'expired' }
  /** An ask_user question to the thread; closed once its tool result is sent (or the turn ends). */
  | { kind: 'question'; id: string; question: string; choices: string[]; turn: number; open: boolean }
  /** What a finished turn used, as known when it ended (later usage events do not change it). */
  | {
      kind: 'usage';
      id: string;
      turn: number;
      inputTokens: number;
      outputTokens: number;
      seconds?: number;
      sessionCost?: { amount: string; currency: string };
    }
  /** A finished answer whose turn reported no usage: its feedback buttons go alone (the usage line carries them otherwise). */
  | { kind: 'feedback'; id: string; turn: number }
  /** The agent stopped at the session's spend cap (`budget_reached`): people may raise the cap or end the session. */
  | { kind: 'budget'; id: string; turn: number; cap?: { amount: string; currency: string }; spent?: { amount: string; currency: string } };

export type PendingCustomTool = { eventId: string; name: string; input: unknown };

export type ThreadState = {
  phase: Phase;
  /** How the last finished turn ended; undefined while the first turn runs. */
  outcome?: Outcome;
  /** Why the session is waiting, failing or retrying (the status line words it: `detailWords`). */
  detail?: StateDetail;
  items: Item[];
  /** user.message ids sent but not yet processed: an idle before they run is stale. */
  queuedUserMessages: string[];
  processedUserMessages: string[];
  /** The interrupt that will end the current turn, if one was sent. */
  interruptId?: string;
  /** The interrupt that ended the last turn (for "stopped by"). */
  stoppedBy?: string;
  pendingCustomTools: PendingCustomTool[];
  toolCalls: number;
  usage: { inputTokens: number; outputTokens: number; cost?: { amount: string; currency: string } };
  /** The session's spend cap as the API last reported it (session.usage / session.updated); null: none. */
  budget?: { amount: string; currency: string } | null;
  /**
   * The two cumulative sources of usage: per-request spans summed, and the session's own
   * snapshots. Either may lag the other (a snapshot mid-request, a span after a snapshot),
   * so `usage` shows the larger of each; adding both would count a request twice.
   */
  usageSources: { spans: { inputTokens: number; outputTokens: number }; snapshot: { inputTokens: number; outputTokens: number } };
  /** Turns are numbered from 1; 0 until the first message is processed. */
  turn: number;
  turnOpen: boolean;
  /** The user.message that started the current (or last) turn, and when (processed_at). */
  turnStartedBy?: string;
  turnStartedAt?: string;
  turnEndedAt?: string;
  /** Usage when the current turn began, so its own share can be told. */
  usageAtTurnStart: { inputTokens: number; outputTokens: number };
  /** The agent.message being written right now (event_deltas), not yet final. */
  preview?: { id: string; text: string };
  /** processed_at of the newest event folded: where a reconnect catches up from. */
  lastProcessedAt?: string;
};

/** Tool calls still waiting for a person's decision, oldest first. */
export const pendingApprovals = (s: ThreadState): Array<Extract<Item, { kind: 'approval' }>> =>
  s.items.filter((i): i is Extract<Item, { kind: 'approval' }> => i.kind === 'approval' && i.state === 'pending');

/** ask_user questions still waiting for an answer, oldest first. */
export const openQuestions = (s: ThreadState): Array<Extract<Item, { kind: 'question' }>> =>
  s.items.filter((i): i is Extract<Item, { kind: 'question' }> => i.kind === 'question' && i.open);

export const initialState = (): ThreadState => ({
  phase: 'starting',
  items: [],
  queuedUserMessages: [],
  processedUserMessages: [],
  pendingCustomTools: [],
  toolCalls: 0,
  usage: { inputTokens: 0, outputTokens: 0 },
  usageSources: { spans: { inputTokens: 0, outputTokens: 0 }, snapshot: { inputTokens: 0, outputTokens: 0 } },
  turn: 0,
  turnOpen: false,
  usageAtTurnStart: { inputTokens: 0, outputTokens: 0 },
});

/** Bridge-local facts that are not (yet) in the event stream. */
export type LocalEvent = { type: 'local.user_message_sent'; id: string } | { type: 'local.interrupt_sent'; id: string };

export type FoldResult = { state: ThreadState; ignored?: { type: string; problem?: string } };

/** fold(state, event) → state. Never throws; returns what it ignored for the log. */
export function fold(previous: ThreadState, event: AgentEvent | LocalEvent): FoldResult {
  return foldInPlace(structuredClone(previous), event);
}

/**
 * The same fold, writing into `s`. For the one owner of a live state (the session runner):
 * a copy per event made the old versions of a thousand threads' states garbage that
 * outlived the young generation, and the process's memory grew with it.
 */
export function foldInPlace(s: ThreadState, event: AgentEvent | LocalEvent): FoldResult {
  if ('processed_at' in event && event.processed_at) s.lastProcessedAt = maxIso(s.lastProcessedAt, event.processed_at);

  switch (event.type) {
    case 'local.user_message_sent':
      // Already processed (the echo beat the HTTP response): the stream has told the whole story.
      if (s.processedUserMessages.includes(event.id) || s.queuedUserMessages.includes(event.id)) return { state: s };
      s.queuedUserMessages.push(event.id);
      s.phase = 'running';
      s.detail = undefined;
      return { state: s };
    case 'local.interrupt_sent':
      // Late note of an interrupt whose turn already ended: nothing to mark.
      if (s.stoppedBy === event.id || (s.phase !== 'running' && s.phase !== 'waiting')) return { state: s };
      s.interruptId = event.id;
      return { state: s };
    case 'user.message':
      if (event.processed_at) {
        s.queuedUserMessages = s.queuedUserMessages.filter((id) => id !== event.id);
        if (s.processedUserMessages.includes(event.id)) return { state: s };
        s.processedUserMessages.push(event.id);
        if (!s.turnOpen) {
          s.turn += 1;
          s.turnOpen = true;
          s.turnStartedBy = event.id;
          s.turnStartedAt = event.processed_at;
          s.turnEndedAt = undefined;
          s.usageAtTurnStart = { inputTokens: s.usage.inputTokens, outputTokens: s.usage.outputTokens };
        }
        s.phase = 'running';
        s.detail = undefined;
      } else if (!s.processedUserMessages.includes(event.id) && !s.queuedUserMessages.includes(event.id)) {
        s.queuedUserMessages.push(event.id);
      }
      return { state: s };
    case 'user.interrupt':
      s.interruptId = event.id || s.interruptId || 'interrupt';
      return { state: s };
    case 'user.custom_tool_result':
      s.pendingCustomTools = s.pendingCustomTools.filter((t) => t.eventId !== event.custom_tool_use_id);
      for (const item of s.items) if (item.kind === 'question' && item.id === event.custom_tool_use_id) item.open = false;
      setToolStatus(s, event.custom_tool_use_id, event.is_error ? 'failed' : 'done');
      return { state: s };
    case 'user.tool_confirmation':
      setToolStatus(s, event.tool_use_id, event.result === 'allow' ? 'running' : 'failed');
      for (const item of s.items) {
        if (item.kind === 'approval' && item.id === event.tool_use_id) item.state = event.result === 'allow' ? 'allowed' : 'denied';
      }
      return { state: s };
    case 'agent.message': {
      s.detail = undefined;
      if (s.preview?.id === event.id) s.preview = undefined;
      const text = textOf(event.content);
      if (text.trim() !== '' && !s.items.some((i) => i.id === event.id)) s.items.push({ kind: 'text', id: event.id, text, turn: s.turn });
      return { state: s };
    }
    case 'event_start':
      if (event.event.type === 'agent.message') s.preview = { id: event.event.id, text: '' };
      return { state: s };
    case 'event_delta':
      if (s.preview?.id === event.event_id && event.delta.content?.text) s.preview.text += event.delta.content.text;
      return { state: s };
    case 'agent.thinking':
      return { state: s };
    case 'agent.tool_use':
    case 'agent.mcp_tool_use':
      s.detail = undefined;
      addTool(s, {
        eventId: event.id,
        name: event.type === 'agent.mcp_tool_use' ? `${event.mcp_server_name}.${event.name}` : event.name,
        input: event.input,
        status: event.evaluated_permission === 'ask' ? 'waiting' : event.evaluated_permission === 'deny' ? 'failed' : 'running',
      });
      if (event.evaluated_permission === 'ask' && !s.items.some((i) => i.kind === 'approval' && i.id === event.id)) {
        const name = event.type === 'agent.mcp_tool_use' ? `${event.mcp_server_name}.${event.name}` : event.name;
        s.items.push({ kind: 'approval', id: event.id, name, input: event.input, turn: s.turn, state: 'pending' });
      }
      return { state: s };
    case 'agent.custom_tool_use':
      addTool(s, { eventId: event.id, name: event.name, input: event.input, status: 'running' });
      if (!s.pendingCustomTools.some((t) => t.eventId === event.id)) {
        s.pendingCustomTools.push({ eventId: event.id, name: event.name, input: event.input });
      }
      if (event.name === ASK_USER && !s.items.some((i) => i.kind === 'question' && i.id === event.id)) {
        // Invalid input gets no question: the tool answers it with is_error instead.
        const asked = AskUserInput.safeParse(event.input);
        if (asked.success)
          s.items.push({
            kind: 'question',
            id: event.id,
            question: asked.data.question,
            choices: asked.data.choices ?? [],
            turn: s.turn,
            open: true,
          });
      }
      return { state: s };
    case 'agent.tool_result':
      setToolStatus(s, event.tool_use_id, event.is_error ? 'failed' : 'done');
      return { state: s };
    case 'agent.mcp_tool_result':
      setToolStatus(s, event.mcp_tool_use_id, event.is_error ? 'failed' : 'done');
      return { state: s };
    case 'session.status_running':
      // A retry note stays until the agent makes progress again.
      s.phase = 'running';
      // A raised cap lets the turn that stopped at it go on.
      if (!s.turnOpen && s.outcome === 'budget' && s.turn > 0) {
        s.turnOpen = true;
        s.turnEndedAt = undefined;
        s.detail = undefined;
      }
      return { state: s };
    case 'session.status_rescheduled':
      s.phase = 'running';
      s.detail = { kind: 'rescheduled' };
      return { state: s };
    case 'session.status_idle': {
      const wasOpen = s.turnOpen;
      const settled = settleIdle(s, event.stop_reason ?? undefined, event.stop_details?.explanation ?? undefined);
      if (event.stop_reason?.type === 'budget_reached' && event.id && !settled.items.some((i) => i.id === event.id)) {
        settled.items.push({
          kind: 'budget',
          id: event.id,
          turn: settled.turn,
          ...(settled.budget ? { cap: settled.budget } : {}),
          ...(settled.usage.cost ? { spent: settled.usage.cost } : {}),
        });
      }
      if (wasOpen && !settled.turnOpen) {
        if (event.processed_at) settled.turnEndedAt = event.processed_at;
        addTurnUsage(settled);
      }
      return { state: settled };
    }
    case 'session.status_terminated':
      s.phase = 'terminated';
      s.turnOpen = false;
      s.preview = undefined;
      if (s.outcome === undefined || s.interruptId === undefined) s.outcome = s.outcome === 'failed' ? 'failed' : 'done';
      s.queuedUserMessages = [];
      s.interruptId = undefined;
      return { state: s };
    case 'session.deleted':
      s.phase = 'terminated';
      s.outcome = 'failed';
      s.detail = { kind: 'deleted' };
      return { state: s };
    case 'session.error': {
      const retry = event.error.retry_status?.type;
      const error = { type: event.error.type, message: event.error.message };
      if (retry === 'retrying') {
        s.detail = { kind: 'agent_error', error, retrying: true };
      } else {
        s.items.push({ kind: 'error', id: event.id, error, turn: s.turn });
        s.detail = { kind: 'agent_error', error, retrying: false };
        if (retry === 'terminal') s.outcome = 'failed';
      }
      return { state: s };
    }
    case 'span.model_request_end':
      // A request cut short leaves no buffered message: its preview is withdrawn.
      s.preview = undefined;
      if (event.model_usage) addUsage(s, event.model_usage);
      return { state: s };
    case 'session.usage':
      s.usageSources.snapshot = {
        inputTokens: event.usage.input_tokens ?? s.usageSources.snapshot.inputTokens,
        outputTokens: event.usage.output_tokens ?? s.usageSources.snapshot.outputTokens,
      };
      if (event.usage.list_cost) s.usage.cost = event.usage.list_cost;
      if (event.budget !== undefined)
        s.budget = event.budget ? { amount: event.budget.max_list_cost.amount, currency: event.budget.max_list_cost.currency } : null;
      showUsage(s);
      return { state: s };
    case 'session.updated':
      if (event.budget !== undefined)
        s.budget = event.budget ? { amount: event.budget.max_list_cost.amount, currency: event.budget.max_list_cost.currency } : null;
      return { state: s };
    case 'quiet':
      return { state: s };
    case 'unknown':
      return { state: s, ignored: { type: event.original, ...(event.problem ? { problem: event.problem } : {}) } };
    default:
      return unreachable(event);
  }
}

function settleIdle(s: ThreadState, stop: { type: string; event_ids?: string[] } | undefined, explanation?: string): ThreadState {
  if (stop?.type === 'requires_action') {
    s.phase = 'waiting';
    s.detail = undefined;
    return s;
  }
  // A session starts idle and reports idle before it picks up queued input:
  // that idle does not end the turn our message started.
  if (s.queuedUserMessages.length > 0 && s.interruptId === undefined && stop?.type !== 'retries_exhausted') {
    return s;
  }
  s.phase = 'idle';
  s.turnOpen = false;
  s.preview = undefined;
  s.queuedUserMessages = [];
  s.pendingCustomTools = [];
  for (const item of s.items) {
    if (item.kind === 'tools') for (const t of item.tools) if (t.status === 'running' || t.status === 'waiting') t.status = 'failed';
    if (item.kind === 'approval' && item.state === 'pending') item.state = 'expired';
    if (item.kind === 'question') item.open = false;
  }
  switch (stop?.type) {
    case 'retries_exhausted':
      s.outcome = 'failed';
      s.detail ??= { kind: 'retries_exhausted' };
      break;
    case 'budget_reached':
      s.outcome = 'budget';
      s.detail = { kind: 'budget_reached' };
      break;
    case 'refusal':
      s.outcome = 'refused';
      s.detail = { kind: 'refused', explanation };
      break;
    default:
      // The API ends an interrupted turn with a plain end_turn: only our own record tells.
      s.outcome = s.interruptId !== undefined ? 'stopped' : 'done';
      if (s.outcome === 'done') s.detail = undefined;
  }
  s.stoppedBy = s.outcome === 'stopped' ? s.interruptId : undefined;
  s.interruptId = undefined;
  return s;
}

function addTurnUsage(s: ThreadState): void {
  const inputTokens = s.usage.inputTokens - s.usageAtTurnStart.inputTokens;
  const outputTokens = s.usage.outputTokens - s.usageAtTurnStart.outputTokens;
  if (s.turn === 0 || s.items.some((i) => (i.kind === 'usage' || i.kind === 'feedback') && i.turn === s.turn)) return;
  if (inputTokens + outputTokens === 0) {
    // Each finished answer closes with the feedback buttons, usage reported or not.
    if (s.outcome === 'done') s.items.push({ kind: 'feedback', id: `turn${s.turn}`, turn: s.turn });
    return;
  }
  const seconds = s.turnStartedAt && s.turnEndedAt ? Math.round((Date.parse(s.turnEndedAt) - Date.parse(s.turnStartedAt)) / 1000) : undefined;
  s.items.push({
    kind: 'usage',
    id: `turn${s.turn}`,
    turn: s.turn,
    inputTokens,
    outputTokens,
    ...(seconds !== undefined && Number.isFinite(seconds) && seconds >= 0 ? { seconds } : {}),
    ...(s.usage.cost ? { sessionCost: s.usage.cost } : {}),
  });
}

function addTool(s: ThreadState, line: ToolLine): void {
  const known = s.items.some((i) => i.kind === 'tools' && i.tools.some((t) => t.eventId === line.eventId));
  if (known) return;
  s.toolCalls += 1;
  const surface = s.items.find((i): i is Extract<Item, { kind: 'tools' }> => i.kind === 'tools' && i.turn === s.turn);
  if (surface) surface.tools.push(line);
  else s.items.push({ kind: 'tools', id: line.eventId, tools: [line], turn: s.turn });
}

function setToolStatus(s: ThreadState, eventId: string, status: ToolLine['status']): void {
  for (const item of s.items) {
    if (item.kind !== 'tools') continue;
    const tool = item.tools.find((t) => t.eventId === eventId);
    if (tool) tool.status = status;
  }
}

function addUsage(s: ThreadState, u: UsageSnapshot): void {
  s.usageSources.spans.inputTokens += u.input_tokens ?? 0;
  s.usageSources.spans.outputTokens += u.output_tokens ?? 0;
  showUsage(s);
}

function showUsage(s: ThreadState): void {
  const { spans, snapshot } = s.usageSources;
  s.usage.inputTokens = Math.max(spans.inputTokens, snapshot.inputTokens);
  s.usage.outputTokens = Math.max(spans.outputTokens, snapshot.outputTokens);
}

function maxIso(a: string | undefined, b: string): string {
  return a === undefined || b > a ? b : a;
}
