/**
 * One session's state machine: event log, SSE fan-out, input queue, and the turn lifecycle that
 * wraps the scriptable agent (see script.ts for the Turn API built on these primitives).
 *
 * Everything here is synchronous except the script itself, so the order of events on the wire
 * is fully determined by the order of requests and script calls.
 */
import { paginate, readPageQuery, type Page } from './pagination.js';
import type { SseConnection } from './sse.js';
import type { EnvObj, Event, SessionObj, SessionStatus, Turn, TurnScript } from './types.js';
import { listCostCents, listPriceOf } from './pricing.js';
import { abortError, badRequest, conflict, isObject, newId, now, parseTime, patchMetadata, validateMetadata, type Json } from './util.js';

export type Budget = { type: 'limit'; max_list_cost: { amount: string; currency: 'USD' } };

/** `budget` as the API takes it (SDK BetaManagedAgentsBudgetLimit): amount in cents, an integer string. */
export function validateBudget(value: unknown, where: string): Budget | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || value.type !== 'limit') throw badRequest(`${where}.type: expected 'limit'`);
  const cost = value.max_list_cost;
  if (!isObject(cost) || typeof cost.amount !== 'string' || !/^(0|[1-9]\d*)$/.test(cost.amount)) {
    throw badRequest(`${where}.max_list_cost.amount: expected an integer decimal string of cents with no leading zeros`);
  }
  if (cost.currency !== 'USD') throw badRequest(`${where}.max_list_cost.currency: expected 'USD'`);
  return { type: 'limit', max_list_cost: { amount: cost.amount, currency: 'USD' } };
}

const capCents = (budget: unknown): number | undefined =>
  isObject(budget) && isObject(budget.max_list_cost) ? Number(budget.max_list_cost.amount) : undefined;

export interface SessionHost {
  script(): TurnScript;
  changed(): void;
  scriptError(err: unknown): void;
  makeTurn(session: SessionRuntime, ctx: TurnState, message: Event): Turn;
  /** The MIME type of a Files API file, or undefined when there is no such file. */
  fileMime(id: string): string | undefined;
}

type PendingKind = 'custom' | 'confirm';

interface Pending {
  kind: PendingKind;
  resolve: (answer: Event) => void;
  reject: (err: unknown) => void;
  answer?: Event;
}

/** An open turn. It stays open while blocked on requires_action (session status is then `idle`). */
export class TurnState {
  readonly controller = new AbortController();
  ended = false;
  spanStartId: string | null = null;
  spanUsage = { input_tokens: 0, output_tokens: 0 };
  /** Blocking tool-use event ids, in emission order; answered entries stay until all are answered. */
  readonly pending = new Map<string, Pending>();
  blockFlushScheduled = false;

  get signal(): AbortSignal {
    return this.controller.signal;
  }
}

const SENDABLE = new Set([
  'user.message',
  'user.interrupt',
  'user.tool_confirmation',
  'user.custom_tool_result',
  'user.define_outcome',
  'user.tool_result',
  'system.message',
]);
const STREAM_ONLY = new Set(['event_start', 'event_delta']);

export class SessionRuntime {
  readonly log: Event[] = [];
  readonly received: Event[] = [];
  readonly streams = new Set<SseConnection>();
  /** Queued `user.message` echoes (processed_at null), FIFO. */
  private readonly queue: Event[] = [];
  private turn: TurnState | null = null;
  private readonly logSeq = new WeakMap<Event, number>();
  deleted = false;
  /** The turn stopped at its budget (budget_reached): it goes on when the budget is raised or removed. */
  private budgetPause: { ctx: TurnState; resume: () => void; fail: (err: unknown) => void } | null = null;

  constructor(
    readonly obj: SessionObj,
    readonly env: EnvObj,
    readonly seq: number,
    private readonly host: SessionHost,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Event plumbing

  /** Fills id/processed_at, persists (unless stream-only), fans out to every open connection. */
  emit(partial: Json & { type: string }, opts: { persist?: boolean } = {}): Event {
    const { type, id, processed_at, ...rest } = partial;
    const event: Event = STREAM_ONLY.has(type)
      ? ({ type, ...rest } as unknown as Event)
      : {
          type,
          id: typeof id === 'string' ? id : newId('sevt'),
          ...rest,
          processed_at: processed_at === undefined ? now() : (processed_at as string | null),
        };
    if (opts.persist !== false && !STREAM_ONLY.has(type)) {
      this.logSeq.set(event, this.log.length);
      this.log.push(event);
    }
    for (const conn of this.streams) conn.send(event);
    this.host.changed();
    return event;
  }

  /** Live previews go only to connections that opted in via event_deltas[]; never persisted. */
  preview(type: 'agent.message' | 'agent.thinking', id: string, pieces: string[]): void {
    for (const conn of this.streams) {
      if (!conn.deltas.has(type)) continue;
      conn.send({ type: 'event_start', event: { type, id } } as { type: string });
      for (const text of pieces) {
        conn.send({
          type: 'event_delta',
          event_id: id,
          delta: { type: 'content_delta', index: 0, content: { type: 'text', text } },
        } as { type: string });
      }
    }
  }

  wantsPreview(type: string): boolean {
    for (const conn of this.streams) if (conn.deltas.has(type)) return true;
    return false;
  }

  setStatus(status: SessionStatus, extra: Json = {}): void {
    this.obj.status = status;
    this.obj.updated_at = now();
    const suffix = status === 'rescheduling' ? 'rescheduled' : status;
    this.emit({ type: `session.status_${suffix}`, ...extra });
  }

  listEvents(query: URLSearchParams): Page<Event> {
    const pq = readPageQuery(query, { limit: 1000, order: 'asc' });
    const types = new Set([...query.getAll('types[]'), ...query.getAll('types')]);
    const bounds = (['gt', 'gte', 'lt', 'lte'] as const).flatMap((op) => {
      const raw = query.get(`created_at[${op}]`);
      return raw === null ? [] : [{ op, t: parseTime(raw) }];
    });
    const inRange = (e: Event): boolean => {
      if (bounds.length === 0) return true;
      if (!e.processed_at) return false;
      const t = parseTime(e.processed_at);
      return bounds.every(({ op, t: b }) => (op === 'gt' ? t > b : op === 'gte' ? t >= b : op === 'lt' ? t < b : t <= b));
    };
    const items = this.log.filter((e) => (types.size === 0 || types.has(e.type)) && inRange(e));
    if (pq.order === 'desc') items.reverse();
    return paginate(items, (e) => this.logSeq.get(e) ?? 0, pq);
  }

  // -------------------------------------------------------------------------------------------
  // POST /events

  /** Validates the whole batch first (all-or-nothing), then applies it in order. */
  send(body: unknown): Event[] {
    this.assertWritable();
    if (!isObject(body) || !Array.isArray(body.events) || body.events.length === 0) {
      throw badRequest('events: expected a non-empty array');
    }
    const events = body.events as unknown[];
    for (const [i, e] of events.entries()) this.validate(e, i, events);
    if (this.budgetPause && events.some((e) => isObject(e) && e.type === 'user.message')) {
      throw badRequest('The session is paused at its budget (budget_reached); raise or remove the budget to continue', 'budget_reached');
    }
    const echoes = events.map((e) => this.accept(e as Json));
    this.settleAnswers();
    this.received.push(...echoes);
    return echoes;
  }

  private validate(e: unknown, i: number, all: unknown[]): void {
    const where = `events[${i}]`;
    if (!isObject(e) || typeof e.type !== 'string') throw badRequest(`${where}.type: required`);
    if (!SENDABLE.has(e.type)) throw badRequest(`${where}.type: unknown or non-sendable event type '${e.type}'`);
    const answerKey = (key: string, kind: PendingKind, what: string): void => {
      const id = e[key];
      if (typeof id !== 'string') throw badRequest(`${where}.${key}: required`);
      const p = this.turn?.pending.get(id);
      if (!p || p.kind !== kind || p.answer) throw badRequest(`${where}.${key}: ${id} is not a pending ${what}`);
      const dup = all.slice(0, i).some((o) => isObject(o) && o.type === e.type && o[key] === id);
      if (dup) throw badRequest(`${where}.${key}: ${id} is answered twice in this request`);
    };
    switch (e.type) {
      case 'user.message':
        validateContent(e.content, `${where}.content`, (id) => this.host.fileMime(id));
        return;
      case 'user.custom_tool_result':
        answerKey('custom_tool_use_id', 'custom', 'agent.custom_tool_use');
        if (e.content !== undefined && !Array.isArray(e.content)) throw badRequest(`${where}.content: expected an array`);
        return;
      case 'user.tool_confirmation':
        answerKey('tool_use_id', 'confirm', 'ask-gated agent.tool_use');
        if (e.result !== 'allow' && e.result !== 'deny') throw badRequest(`${where}.result: expected 'allow' or 'deny'`);
        if (e.deny_message != null && e.result !== 'deny') throw badRequest(`${where}.deny_message: only valid with result 'deny'`);
        return;
      case 'user.define_outcome':
        if (typeof e.description !== 'string' || !isObject(e.rubric)) throw badRequest(`${where}: description and rubric are required`);
        return;
      case 'user.tool_result':
        if (this.env.config.type !== 'self_hosted') throw badRequest(`${where}: user.tool_result is only valid in self_hosted environments`);
        return;
      case 'system.message': {
        validateContent(e.content, `${where}.content`, (id) => this.host.fileMime(id));
        const prev = all[i - 1];
        const follows = isObject(prev) && ['user.message', 'user.custom_tool_result', 'user.tool_result'].includes(String(prev.type));
        if (i !== all.length - 1 || !follows) {
          throw badRequest(`${where}: system.message must be last and directly follow a user.message or tool result`);
        }
        return;
      }
    }
  }

  private accept(e: Json): Event {
    const { type, ...params } = e as Json & { type: string };
    switch (type) {
      case 'user.message': {
        const queued: Event = { id: newId('sevt'), type, content: params.content, processed_at: null };
        // The stream sees the queued copy first, then the processed copy with the same id.
        this.emit(queued, { persist: false });
        if (this.turn === null && this.queue.length === 0) return this.startTurn(queued);
        this.queue.push(queued);
        return queued;
      }
      case 'user.interrupt': {
        // At a budget pause an interrupt is accepted, ignored and never persisted (as the Managed Agents API documents for budget pauses).
        if (this.budgetPause) return { id: newId('sevt'), type, ...params, processed_at: now() } as Event;
        const echo = this.emit({ type, ...params });
        // Interrupt jumps the queue; queued messages survive it and start a fresh turn afterwards. [Inf]
        if (this.turn) this.endTurn(this.turn, { type: 'end_turn' }, null);
        return echo;
      }
      case 'user.custom_tool_result':
        return this.answer(this.emit({ type, ...params }), String(params.custom_tool_use_id));
      case 'user.tool_confirmation':
        return this.answer(this.emit({ type, ...params, deny_message: params.deny_message ?? null }), String(params.tool_use_id));
      case 'user.define_outcome':
        // [Inf] accepted and persisted; outcome evaluation is not simulated.
        return this.emit({ type, ...params, max_iterations: params.max_iterations ?? 3, outcome_id: newId('outc') });
      default:
        // user.tool_result (self-hosted) and system.message: recorded, no agent behaviour. [Inf]
        return this.emit({ type, ...params });
    }
  }

  private answer(echo: Event, toolUseId: string): Event {
    const p = this.turn?.pending.get(toolUseId);
    // Absent only if an interrupt earlier in the same batch already ended the turn.
    if (p) p.answer = echo;
    return echo;
  }

  /** After a batch: re-block on the remainder, or resume when every blocking call is answered. */
  private settleAnswers(): void {
    const ctx = this.turn;
    if (!ctx || ctx.ended || ctx.pending.size === 0) return;
    const entries = [...ctx.pending.entries()];
    if (!entries.some(([, p]) => p.answer)) return;
    const open = entries.filter(([, p]) => !p.answer).map(([id]) => id);
    if (open.length > 0) {
      this.setStatus('idle', { stop_reason: { type: 'requires_action', event_ids: open }, stop_details: null });
      return;
    }
    ctx.pending.clear();
    this.setStatus('running');
    this.openSpan(ctx);
    for (const [, p] of entries) p.resolve(p.answer as Event);
  }

  // -------------------------------------------------------------------------------------------
  // Turn lifecycle

  private startTurn(message: Event): Event {
    const ctx = new TurnState();
    this.turn = ctx;
    this.setStatus('running');
    const processed = this.emit({ ...message, processed_at: now() });
    void this.drive(ctx, processed);
    return processed;
  }

  /**
   * Runs the script once per user.message. Messages queued during a turn are processed right
   * after it, each as its own script call, while the session stays `running` — one idle at the end.
   */
  private async drive(ctx: TurnState, first: Event): Promise<void> {
    let message = first;
    for (;;) {
      this.openSpan(ctx);
      const outcome = await this.runScript(ctx, message);
      if (ctx.ended) return;
      if (outcome !== 'ok') {
        this.host.scriptError(outcome.error);
        this.emit({
          type: 'session.error',
          error: { type: 'unknown_error', message: `TurnScript threw: ${String(outcome.error)}`, retry_status: { type: 'exhausted' } },
        });
        this.queue.length = 0;
        this.endTurn(ctx, { type: 'retries_exhausted' }, true);
        return;
      }
      this.closeSpan(ctx, false);
      const next = this.queue.shift();
      if (!next) break;
      message = this.emit({ ...next, processed_at: now() });
    }
    this.endTurn(ctx, { type: 'end_turn' }, false);
  }

  private async runScript(ctx: TurnState, message: Event): Promise<'ok' | { error: unknown }> {
    const script = this.host.script();
    const turn = this.host.makeTurn(this, ctx, message);
    const run = Promise.resolve().then(() => script(turn));
    // A script that ignores its signal must not keep the turn open after an interrupt.
    const ended = new Promise<'ok'>((resolve) => ctx.signal.addEventListener('abort', () => resolve('ok'), { once: true }));
    run.catch(() => undefined);
    try {
      return await Promise.race([run.then(() => 'ok' as const), ended]);
    } catch (error) {
      return ctx.ended ? 'ok' : { error };
    }
  }

  /**
   * Ends the turn. `stop` null = no idle event (terminated/deleted/closed).
   * `spanError` goes into the closing span.model_request_end (null for an interrupted request). [Inf]
   */
  endTurn(ctx: TurnState, stop: Json | null, spanError: boolean | null): void {
    if (ctx.ended) return;
    ctx.ended = true;
    this.closeSpan(ctx, spanError);
    for (const p of ctx.pending.values()) p.reject(abortError());
    if (this.budgetPause?.ctx === ctx) this.budgetPause.fail(abortError());
    ctx.pending.clear();
    if (this.turn === ctx) this.turn = null;
    ctx.controller.abort();
    if (stop) this.setStatus('idle', { stop_reason: stop, stop_details: null });
    this.pump();
  }

  private pump(): void {
    const next = this.turn === null && this.obj.status !== 'terminated' && !this.deleted ? this.queue.shift() : undefined;
    if (next) this.startTurn(next);
  }

  openSpan(ctx: TurnState): void {
    if (ctx.spanStartId) return;
    ctx.spanStartId = this.emit({ type: 'span.model_request_start' }).id;
    ctx.spanUsage = { input_tokens: 0, output_tokens: 0 };
  }

  closeSpan(ctx: TurnState, isError: boolean | null): void {
    if (!ctx.spanStartId) return;
    const start = ctx.spanStartId;
    ctx.spanStartId = null;
    this.emit({
      type: 'span.model_request_end',
      model_request_start_id: start,
      is_error: isError,
      model_usage: { ...ctx.spanUsage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  }

  /**
   * Registers a blocking tool use and resolves with the client's answer. Blocks registered in the
   * same tick (Promise.all in a script) share one requires_action idle event.
   */
  block(ctx: TurnState, eventId: string, kind: PendingKind): Promise<Event> {
    const answered = new Promise<Event>((resolve, reject) => ctx.pending.set(eventId, { kind, resolve, reject }));
    if (!ctx.blockFlushScheduled) {
      ctx.blockFlushScheduled = true;
      queueMicrotask(() => {
        ctx.blockFlushScheduled = false;
        if (ctx.ended) return;
        const open = [...ctx.pending.entries()].filter(([, p]) => !p.answer).map(([id]) => id);
        if (open.length === 0) return;
        this.closeSpan(ctx, false);
        this.setStatus('idle', { stop_reason: { type: 'requires_action', event_ids: open }, stop_details: null });
      });
    }
    return answered;
  }

  /** Session-level effect of session.error with retry_status exhausted/terminal. */
  failTurn(ctx: TurnState, retryStatus: 'exhausted' | 'terminal'): void {
    // [Inf] queued input is discarded, never processed.
    this.queue.length = 0;
    if (retryStatus === 'exhausted') {
      this.endTurn(ctx, { type: 'retries_exhausted' }, true);
    } else {
      this.endTurn(ctx, null, true);
      this.setStatus('terminated');
    }
  }

  addUsage(ctx: TurnState, u: { input_tokens: number; output_tokens: number }): void {
    ctx.spanUsage.input_tokens += u.input_tokens;
    ctx.spanUsage.output_tokens += u.output_tokens;
    const usage = this.obj.usage;
    usage.input_tokens = (usage.input_tokens ?? 0) + u.input_tokens;
    usage.output_tokens = (usage.output_tokens ?? 0) + u.output_tokens;
    const model = isObject(this.obj.agent.model) ? String(this.obj.agent.model.id) : String(this.obj.agent.model);
    const price = listPriceOf(model);
    if (price) usage.list_cost = { amount: String(listCostCents(price, usage)), currency: 'USD' };
    this.emit({ type: 'session.usage', usage: { ...usage }, budget: this.obj.budget ?? null });
  }

  /**
   * After usage: when the list cost has reached the budget, the session stops issuing model
   * requests (`session.usage` came first, then idle with `budget_reached`), and the script
   * waits here until the budget is raised or removed. [Inf] a raise resumes the same turn.
   */
  async holdAtBudget(ctx: TurnState): Promise<void> {
    const cap = capCents(this.obj.budget);
    const spent = Number((this.obj.usage.list_cost as { amount?: string } | undefined)?.amount ?? 0);
    if (cap === undefined || spent < cap || ctx.ended) return;
    this.closeSpan(ctx, false);
    await new Promise<void>((resolve, reject) => {
      this.budgetPause = { ctx, resume: resolve, fail: reject };
      this.setStatus('idle', { stop_reason: { type: 'budget_reached' }, stop_details: null });
    }).finally(() => {
      if (this.budgetPause?.ctx === ctx) this.budgetPause = null;
    });
  }

  private resumeFromBudget(): void {
    const pause = this.budgetPause;
    if (!pause) return;
    const cap = capCents(this.obj.budget);
    const spent = Number((this.obj.usage.list_cost as { amount?: string } | undefined)?.amount ?? 0);
    if (cap !== undefined && spent >= cap) return;
    this.budgetPause = null;
    this.setStatus('running');
    this.openSpan(pause.ctx);
    pause.resume();
  }

  // -------------------------------------------------------------------------------------------
  // Session resource operations

  update(body: Json): SessionObj {
    this.assertWritable();
    if ('vault_ids' in body) throw badRequest('vault_ids cannot be changed after creation');
    const changed: Json = {};
    if ('title' in body) {
      this.obj.title = typeof body.title === 'string' ? body.title : null;
      changed.title = this.obj.title;
    }
    if ('metadata' in body) {
      validateMetadata(body.metadata, true);
      this.obj.metadata = patchMetadata(this.obj.metadata, body.metadata);
      changed.metadata = this.obj.metadata;
    }
    if (isObject(body.agent)) {
      if (this.obj.status === 'running') throw badRequest('agent cannot be updated while the session is running');
      for (const k of ['tools', 'mcp_servers'] as const) if (Array.isArray(body.agent[k])) this.obj.agent[k] = body.agent[k];
      changed.agent = this.obj.agent;
    }
    let budgetChanged = false;
    if ('budget' in body && body.budget !== undefined) {
      // A budget is create-only; a removed one cannot come back.
      if (this.obj.budget === null && body.budget !== null)
        throw badRequest('budget: a budget cannot be added to a session created without one', 'budget_create_only');
      const next = body.budget === null ? null : validateBudget(body.budget, 'budget')!;
      const spent = Number((this.obj.usage.list_cost as { amount?: string } | undefined)?.amount ?? 0);
      if (next && Number(next.max_list_cost.amount) <= spent) {
        throw badRequest(`budget: max_list_cost must be above the session's consumed list cost (${spent} cents)`, 'budget_not_raised');
      }
      this.obj.budget = next;
      changed.budget = this.obj.budget;
      budgetChanged = true;
    }
    if (Object.keys(changed).length > 0) {
      this.obj.updated_at = now();
      this.emit({ type: 'session.updated', ...changed });
    }
    if (budgetChanged) this.resumeFromBudget();
    return this.obj;
  }

  archive(): SessionObj {
    if (this.obj.archived_at) return this.obj;
    if (this.obj.status === 'running') throw badRequest('Cannot archive a session while it is running');
    if (this.turn) this.endTurn(this.turn, null, null);
    this.queue.length = 0;
    this.obj.archived_at = now();
    // [Inf] archived sessions read as terminated; announce it like any other status change.
    if (this.obj.status !== 'terminated') this.setStatus('terminated');
    return this.obj;
  }

  delete(): { id: string; type: 'session_deleted' } {
    if (this.obj.status === 'running') throw badRequest('Cannot delete a session while it is running');
    if (this.turn) this.endTurn(this.turn, null, null);
    this.queue.length = 0;
    this.deleted = true;
    this.emit({ type: 'session.deleted' });
    for (const conn of this.streams) conn.end();
    return { id: this.obj.id, type: 'session_deleted' };
  }

  /** fake.close(): stop the script without emitting anything further. */
  shutdown(): void {
    if (this.turn) {
      const ctx = this.turn;
      ctx.ended = true;
      for (const p of ctx.pending.values()) p.reject(abortError());
      ctx.controller.abort();
      this.turn = null;
    }
    this.queue.length = 0;
  }

  private assertWritable(): void {
    if (this.obj.archived_at) throw conflict(`Session ${this.obj.id} is archived`);
    if (this.obj.status === 'terminated') throw conflict(`Session ${this.obj.id} is terminated`);
  }
}

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const DOCUMENT_TYPES = new Set(['application/pdf', 'text/plain']);

function validateContent(content: unknown, where: string, fileMime: (id: string) => string | undefined): void {
  if (!Array.isArray(content) || content.length === 0) throw badRequest(`${where}: expected a non-empty array of content blocks`);
  content.forEach((block, j) => {
    if (!isObject(block) || typeof block.type !== 'string') throw badRequest(`${where}[${j}].type: required`);
    if (block.type === 'text' && typeof block.text !== 'string') throw badRequest(`${where}[${j}].text: expected a string`);
    if (!['text', 'image', 'document'].includes(block.type)) throw badRequest(`${where}[${j}].type: unsupported block '${block.type}'`);
    if (block.type !== 'text') validateSource(block.type as 'image' | 'document', block.source, `${where}[${j}].source`, fileMime);
  });
}

/** Image/document sources, as the API's content blocks allow them: base64, url, text (documents), or a Files API file. */
function validateSource(kind: 'image' | 'document', source: unknown, where: string, fileMime: (id: string) => string | undefined): void {
  if (!isObject(source) || typeof source.type !== 'string') throw badRequest(`${where}.type: required`);
  const allowed = kind === 'image' ? IMAGE_TYPES : DOCUMENT_TYPES;
  switch (source.type) {
    case 'file': {
      if (typeof source.file_id !== 'string' || source.file_id === '') throw badRequest(`${where}.file_id: expected a non-empty string`);
      const mime = fileMime(source.file_id);
      if (mime === undefined) throw badRequest(`${where}.file_id: file not found: ${source.file_id}`);
      // [Inf] the file's type must suit the block, as with base64 media types.
      if (!allowed.has(mime)) throw badRequest(`${where}: a ${mime} file cannot be used as an ${kind} block`);
      return;
    }
    case 'base64':
      if (typeof source.data !== 'string' || typeof source.media_type !== 'string' || !allowed.has(source.media_type)) {
        throw badRequest(`${where}: base64 sources need data and a supported media_type`);
      }
      return;
    case 'url':
      if (typeof source.url !== 'string') throw badRequest(`${where}.url: expected a string`);
      return;
    case 'text':
      if (kind !== 'document' || typeof source.data !== 'string') throw badRequest(`${where}: text sources are for documents, with data`);
      return;
    default:
      throw badRequest(`${where}.type: unknown source type '${source.type}'`);
  }
}
