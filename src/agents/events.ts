import { z } from 'zod';

/**
 * The slice of the Managed Agents event stream the bridge acts on, parsed at the
 * edge. Anything else is kept as `{ type: 'unknown' }` so the fold can log and skip
 * it: a new event type from the API must never crash a thread.
 */
const base = {
  id: z.string(),
  processed_at: z.string().nullable().optional(),
};

const TextBlock = z.object({ type: z.literal('text'), text: z.string() });
const AnyBlock = z.union([TextBlock, z.object({ type: z.string() }).loose()]);

const UserMessage = z.object({ type: z.literal('user.message'), ...base, content: z.array(AnyBlock).default([]) });
const UserInterrupt = z.object({ type: z.literal('user.interrupt'), ...base, id: z.string().default('') });
const UserCustomToolResult = z.object({
  type: z.literal('user.custom_tool_result'),
  ...base,
  custom_tool_use_id: z.string(),
  is_error: z.boolean().nullable().optional(),
});
const UserToolConfirmation = z.object({
  type: z.literal('user.tool_confirmation'),
  ...base,
  tool_use_id: z.string(),
  result: z.enum(['allow', 'deny']),
});
const AgentMessage = z.object({ type: z.literal('agent.message'), ...base, content: z.array(AnyBlock).default([]) });
const AgentThinking = z.object({ type: z.literal('agent.thinking'), ...base });
const AgentToolUse = z.object({
  type: z.literal('agent.tool_use'),
  ...base,
  name: z.string(),
  input: z.record(z.string(), z.unknown()).default({}),
  evaluated_permission: z.enum(['allow', 'ask', 'deny']).nullable().optional(),
});
const AgentMcpToolUse = z.object({
  type: z.literal('agent.mcp_tool_use'),
  ...base,
  name: z.string(),
  mcp_server_name: z.string(),
  input: z.record(z.string(), z.unknown()).default({}),
  evaluated_permission: z.enum(['allow', 'ask', 'deny']).nullable().optional(),
});
const AgentCustomToolUse = z.object({
  type: z.literal('agent.custom_tool_use'),
  ...base,
  name: z.string(),
  input: z.unknown(),
});
const AgentToolResult = z.object({
  type: z.literal('agent.tool_result'),
  ...base,
  tool_use_id: z.string(),
  is_error: z.boolean().nullable().optional(),
});
const AgentMcpToolResult = z.object({
  type: z.literal('agent.mcp_tool_result'),
  ...base,
  mcp_tool_use_id: z.string(),
  is_error: z.boolean().nullable().optional(),
});
const StopReason = z.union([
  z.object({ type: z.literal('requires_action'), event_ids: z.array(z.string()).default([]) }),
  z.object({ type: z.string() }).loose(),
]);
const StatusIdle = z.object({
  type: z.literal('session.status_idle'),
  ...base,
  stop_reason: StopReason.nullable().optional(),
  stop_details: z
    .object({ type: z.string(), category: z.string().nullable().optional(), explanation: z.string().nullable().optional() })
    .loose()
    .nullable()
    .optional(),
});
const StatusRunning = z.object({ type: z.literal('session.status_running'), ...base });
const StatusRescheduled = z.object({ type: z.literal('session.status_rescheduled'), ...base });
const StatusTerminated = z.object({ type: z.literal('session.status_terminated'), ...base });
const SessionDeleted = z.object({ type: z.literal('session.deleted'), ...base });
const SessionError = z.object({
  type: z.literal('session.error'),
  ...base,
  error: z
    .object({
      type: z.string().default('unknown_error'),
      message: z.string().default(''),
      retry_status: z.object({ type: z.string() }).loose().nullable().optional(),
    })
    .loose(),
});
const Usage = z
  .object({
    input_tokens: z.number().optional(),
    output_tokens: z.number().optional(),
    cache_read_input_tokens: z.number().optional(),
    list_cost: z.object({ amount: z.string(), currency: z.string() }).nullable().optional(),
  })
  .loose();
const ModelRequestEnd = z.object({
  type: z.literal('span.model_request_end'),
  ...base,
  model_usage: Usage.nullable().optional(),
});
/** A session's spend cap (`{type:'limit', max_list_cost}`), or null when it has none. */
const Budget = z
  .object({ type: z.string(), max_list_cost: z.object({ amount: z.string(), currency: z.string() }).loose() })
  .loose()
  .nullable();
const SessionUsage = z.object({ type: z.literal('session.usage'), ...base, usage: Usage, budget: Budget.optional() });
/** Only changed fields are present; the bot reads the budget (a raise or removal). */
const SessionUpdated = z.object({ type: z.literal('session.updated'), ...base, budget: Budget.optional() });

/** Live previews (only with event_deltas[]): no id of their own, never in the history. */
const EventStart = z.object({
  type: z.literal('event_start'),
  event: z.object({ type: z.string(), id: z.string() }).loose(),
});
const EventDelta = z.object({
  type: z.literal('event_delta'),
  event_id: z.string(),
  delta: z.object({ content: z.object({ type: z.string(), text: z.string().optional() }).loose().optional() }).loose(),
});

const KnownEventSchema = z.discriminatedUnion('type', [
  EventStart,
  EventDelta,
  UserMessage,
  UserInterrupt,
  UserCustomToolResult,
  UserToolConfirmation,
  AgentMessage,
  AgentThinking,
  AgentToolUse,
  AgentMcpToolUse,
  AgentCustomToolUse,
  AgentToolResult,
  AgentMcpToolResult,
  StatusIdle,
  StatusRunning,
  StatusRescheduled,
  StatusTerminated,
  SessionDeleted,
  SessionError,
  ModelRequestEnd,
  SessionUsage,
  SessionUpdated,
]);
type Parsed = z.infer<typeof KnownEventSchema>;
/** Previews carry no id; an empty one keeps every event the same shape for dedupe. */
export type KnownEvent = Parsed extends infer E ? (E extends { id: string } ? E : E & { id: ''; processed_at?: undefined }) : never;
export type UsageSnapshot = z.infer<typeof Usage>;

/** Events we know exist but deliberately do not render (spans, threads, outcomes…). */
const QUIET_TYPES = new Set(['span.model_request_start', 'agent.thread_context_compacted', 'ping']);

export type AgentEvent =
  | KnownEvent
  | { type: 'quiet'; original: string; id: string; processed_at?: string | null }
  | { type: 'unknown'; original: string; id: string; processed_at?: string | null; problem?: string };

const Envelope = z.object({ type: z.string(), id: z.string().optional(), processed_at: z.string().nullable().optional() }).loose();

export function parseAgentEvent(raw: unknown): AgentEvent {
  const envelope = Envelope.safeParse(raw);
  if (!envelope.success) return { type: 'unknown', original: typeof raw, id: '', problem: 'not an event object' };
  const { type, id = '', processed_at } = envelope.data;
  if (QUIET_TYPES.has(type)) return { type: 'quiet', original: type, id, processed_at };
  const known = KnownEventSchema.safeParse(raw);
  if (known.success) return ('id' in known.data ? known.data : { ...known.data, id: '' }) as KnownEvent;
  const typeIsKnown = KnownEventSchema.options.some((o) => o.shape.type.value === type);
  return {
    type: 'unknown',
    original: type,
    id,
    processed_at,
    ...(typeIsKnown ? { problem: known.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } : {}),
  };
}

export function textOf(content: ReadonlyArray<{ type: string; text?: unknown }>): string {
  return content
    .map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : block.type === 'redacted' ? '[redacted]' : ''))
    .filter((t) => t !== '')
    .join('\n\n');
}
