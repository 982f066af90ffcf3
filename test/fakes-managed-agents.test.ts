import Anthropic, { AuthenticationError, BadRequestError, ConflictError, NotFoundError, RateLimitError } from '@anthropic-ai/sdk';
import type { BetaManagedAgentsStreamSessionEvents as StreamEvent } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeManagedAgents, type FakeManagedAgents } from './fakes/managed-agents/index.js';

let fake: FakeManagedAgents;
let client: Anthropic;

beforeEach(async () => {
  fake = await startFakeManagedAgents();
  client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
});

afterEach(async () => {
  await fake.close();
});

async function newSession(): Promise<string> {
  const agent = await client.beta.agents.create({
    name: 'slack-bot',
    model: 'claude-opus-5-5',
    tools: [{ type: 'custom', name: 'lookup_order', description: 'Look up an order', input_schema: { type: 'object' } }],
  });
  const env = await client.beta.environments.create({ name: 'default' });
  const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  return session.id;
}

function sendText(sessionId: string, text: string) {
  return client.beta.sessions.events.send(sessionId, {
    events: [{ type: 'user.message', content: [{ type: 'text', text }] }],
  });
}

/** Collects stream events up to and including the first one matching `stop` (then closes the stream). */
async function readUntil(stream: AsyncIterable<StreamEvent>, stop: (e: StreamEvent) => boolean): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const e of stream) {
    seen.push(e);
    if (stop(e)) break;
  }
  return seen;
}

const isTurnEnd = (e: StreamEvent): boolean =>
  e.type === 'session.status_terminated' || (e.type === 'session.status_idle' && e.stop_reason.type !== 'requires_action');
const idOf = (e: StreamEvent): string | undefined => ('id' in e ? e.id : undefined);
const textOf = (e: StreamEvent): string => (e.type === 'agent.message' ? e.content.map((b) => ('text' in b ? b.text : '')).join('') : '');

describe('fake managed agents via the real SDK', () => {
  it('streams a turn in the documented order and persists it', async () => {
    const sid = await newSession();
    expect(fake.sessions.get(sid)?.status).toBe('idle');
    expect(fake.events(sid)).toEqual([]); // starting idle emits nothing

    const stream = await client.beta.sessions.events.stream(sid);
    const sent = await sendText(sid, 'hello');
    const msgId = sent.data?.[0]?.id;
    expect(msgId).toMatch(/^sevt_/);

    const seen = await readUntil(stream, isTurnEnd);
    expect(seen.map((e) => e.type)).toEqual([
      'user.message',
      'session.status_running',
      'user.message',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    expect(seen[0]).toMatchObject({ id: msgId, processed_at: null });
    expect(seen[2]).toMatchObject({ id: msgId, processed_at: expect.any(String) });
    expect(textOf(seen[4] as StreamEvent)).toBe('You said: hello');
    expect(seen[6]).toMatchObject({ stop_reason: { type: 'end_turn' }, stop_details: null });

    // Everything but the queued copy is persisted, in stream order.
    expect(fake.events(sid).map((e) => e.id)).toEqual(seen.slice(1).map(idOf));
    expect(fake.received(sid).map((e) => e.id)).toEqual([msgId]);
    expect((await client.beta.sessions.retrieve(sid)).status).toBe('idle');
  });

  it('lists events with cursor pagination and filters', async () => {
    const sid = await newSession();
    await sendText(sid, 'hi');
    await fake.waitFor(() => fake.sessions.get(sid)?.status === 'idle' && fake.events(sid).length === 6);

    const listed = [];
    for await (const e of client.beta.sessions.events.list(sid, { limit: 2 })) listed.push(e);
    expect(listed.map((e) => e.id)).toEqual(fake.events(sid).map((e) => e.id));
    const pageRequests = fake.requests.filter((r) => r.method === 'GET' && r.path === `/v1/sessions/${sid}/events`);
    expect(pageRequests).toHaveLength(3);
    expect(pageRequests[1]?.query.get('page')).toBeTruthy();

    const desc = await client.beta.sessions.events.list(sid, { order: 'desc', limit: 1000 });
    expect(desc.data.map((e) => e.id)).toEqual(
      fake
        .events(sid)
        .map((e) => e.id)
        .reverse(),
    );
    expect(desc.next_page).toBeNull();

    const messages = await client.beta.sessions.events.list(sid, { types: ['agent.message', 'user.message'] });
    expect(messages.data.map((e) => e.type)).toEqual(['user.message', 'agent.message']);

    const third = fake.events(sid)[2];
    const after = await client.beta.sessions.events.list(sid, { 'created_at[gt]': third?.processed_at ?? '' });
    expect(after.data.map((e) => e.id)).toEqual(
      fake
        .events(sid)
        .slice(3)
        .map((e) => e.id),
    );
  });

  it('queues a message sent mid-turn, echoes it twice, and runs it before going idle', async () => {
    fake.onTurn = async (t) => {
      if (t.text === 'first') await t.gate('first');
      await t.message(`done ${t.text}`);
    };
    const sid = await newSession();
    const stream = await client.beta.sessions.events.stream(sid);
    await sendText(sid, 'first');
    expect(fake.sessions.get(sid)?.status).toBe('running');

    const second = await sendText(sid, 'second');
    const secondId = second.data?.[0]?.id;
    expect(second.data?.[0]?.processed_at).toBeNull();
    fake.release('first');

    const seen = await readUntil(stream, isTurnEnd);
    expect(seen.filter((e) => idOf(e) === secondId).map((e) => ('processed_at' in e ? e.processed_at : undefined))).toEqual([
      null,
      expect.any(String),
    ]);
    expect(seen.filter((e) => e.type === 'agent.message').map(textOf)).toEqual(['done first', 'done second']);
    expect(seen.filter((e) => e.type === 'session.status_idle')).toHaveLength(1);
  });

  it('interrupts a running turn and treats an idle interrupt as a no-op', async () => {
    let signal: AbortSignal | undefined;
    fake.onTurn = async (t) => {
      signal = t.signal;
      await t.message('working');
      await t.wait(60_000);
      await t.message('never sent');
    };
    const sid = await newSession();
    const stream = await client.beta.sessions.events.stream(sid);
    await sendText(sid, 'go');
    await fake.waitFor(() => fake.events(sid).some((e) => e.type === 'agent.message'));

    await client.beta.sessions.events.send(sid, { events: [{ type: 'user.interrupt' }] });
    const seen = await readUntil(stream, isTurnEnd);
    const tail = seen.slice(seen.findIndex((e) => e.type === 'user.interrupt'));
    expect(tail.map((e) => e.type)).toEqual(['user.interrupt', 'span.model_request_end', 'session.status_idle']);
    expect(tail[2]).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(signal?.aborted).toBe(true);
    expect(seen.filter((e) => e.type === 'agent.message').map(textOf)).toEqual(['working']);

    const idle = await client.beta.sessions.events.send(sid, { events: [{ type: 'user.interrupt' }] });
    expect(idle.data?.[0]).toMatchObject({ type: 'user.interrupt', processed_at: expect.any(String) });
    expect(fake.events(sid).at(-1)?.type).toBe('user.interrupt');
    expect(fake.sessions.get(sid)?.status).toBe('idle');
  });

  it('round-trips a custom tool call through requires_action', async () => {
    fake.onTurn = async (t) => {
      const result = await t.customTool('lookup_order', { order_id: 'A1' });
      await t.message(`order: ${JSON.stringify(result.content)}`);
    };
    const sid = await newSession();
    const stream = await client.beta.sessions.events.stream(sid);
    await sendText(sid, 'where is A1?');

    const seen: StreamEvent[] = [];
    let toolUseId: string | undefined;
    for await (const e of stream) {
      seen.push(e);
      if (e.type === 'agent.custom_tool_use') toolUseId = e.id;
      if (e.type === 'session.status_idle' && e.stop_reason.type === 'requires_action') {
        expect(e.stop_reason.event_ids).toEqual([toolUseId]);
        await expect(
          client.beta.sessions.events.send(sid, {
            events: [{ type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_unknown', content: [] }],
          }),
        ).rejects.toBeInstanceOf(BadRequestError);
        await client.beta.sessions.events.send(sid, {
          events: [{ type: 'user.custom_tool_result', custom_tool_use_id: toolUseId ?? '', content: [{ type: 'text', text: 'shipped' }] }],
        });
      }
      if (isTurnEnd(e)) break;
    }

    const from = seen.findIndex((e) => e.type === 'agent.custom_tool_use');
    expect(seen.slice(from).map((e) => e.type)).toEqual([
      'agent.custom_tool_use',
      'span.model_request_end',
      'session.status_idle',
      'user.custom_tool_result',
      'session.status_running',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    expect(textOf(seen.find((e) => e.type === 'agent.message') as StreamEvent)).toBe('order: [{"type":"text","text":"shipped"}]');
    await expect(
      client.beta.sessions.events.send(sid, {
        events: [{ type: 'user.custom_tool_result', custom_tool_use_id: toolUseId ?? '', content: [] }],
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
  });

  it('sends previews only to connections that asked for event_deltas, and never persists them', async () => {
    fake.onTurn = async (t) => t.message('abcdef', { deltas: ['abc', 'def'] });
    const sid = await newSession();
    const plain = await client.beta.sessions.events.stream(sid);
    const previews = await client.beta.sessions.events.stream(sid, { event_deltas: ['agent.message'] });
    await sendText(sid, 'x');

    const [a, b] = await Promise.all([readUntil(plain, isTurnEnd), readUntil(previews, isTurnEnd)]);
    expect(a.some((e) => e.type === 'event_start' || e.type === 'event_delta')).toBe(false);
    const msgId = idOf(b.find((e) => e.type === 'agent.message') as StreamEvent);
    const delta = (text: string) => ({
      type: 'event_delta',
      event_id: msgId,
      delta: { type: 'content_delta', index: 0, content: { type: 'text', text } },
    });
    expect(b.filter((e) => e.type === 'event_start' || e.type === 'event_delta')).toEqual([
      { type: 'event_start', event: { type: 'agent.message', id: msgId } },
      delta('abc'),
      delta('def'),
    ]);
    expect(fake.events(sid).some((e) => e.type.startsWith('event_'))).toBe(false);

    await expect(client.beta.sessions.events.stream(sid, { event_deltas: ['agent.tool_use' as 'agent.message'] })).rejects.toBeInstanceOf(
      BadRequestError,
    );
  });

  it('surfaces an injected 429 as RateLimitError with retry-after and a request id', async () => {
    fake.failNext({ method: 'POST', path: '/v1/agents' }, { status: 429, headers: { 'retry-after': '7' } });
    const err = await client.beta.agents.create({ name: 'a', model: 'claude-opus-5-5' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const rl = err as RateLimitError;
    expect(rl.status).toBe(429);
    expect(rl.requestID).toMatch(/^req_/);
    expect(rl.headers?.get('retry-after')).toBe('7');
    expect(rl.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' }, request_id: rl.requestID });
    // `times` defaults to 1.
    await expect(client.beta.agents.create({ name: 'a', model: 'claude-opus-5-5' })).resolves.toMatchObject({ version: 1 });
  });

  it('authenticates by bearer or x-api-key and requires the beta header', async () => {
    const wrong = new Anthropic({ apiKey: 'wrong-key', baseURL: fake.url, maxRetries: 0 });
    const err = await wrong.beta.agents.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).status).toBe(401);

    const noBeta = await fetch(`${fake.url}/v1/agents`, { headers: { 'x-api-key': 'test-key' } });
    expect(noBeta.status).toBe(400);
    expect(noBeta.headers.get('request-id')).toMatch(/^req_/);
    expect(await noBeta.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    const ok = await fetch(`${fake.url}/v1/agents`, {
      headers: { 'x-api-key': 'test-key', 'anthropic-beta': 'managed-agents-2026-04-01' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(await ok.json()).toEqual({ data: [], next_page: null });
  });

  it('versions agents only on real changes and enforces conflicts and 404s', async () => {
    const agent = await client.beta.agents.create({ name: 'a', model: 'claude-opus-5-5' });
    expect((await client.beta.agents.update(agent.id, { name: 'a' })).version).toBe(1);
    expect((await client.beta.agents.update(agent.id, { system: 'be brief', version: 1 })).version).toBe(2);
    await expect(client.beta.agents.update(agent.id, { system: 'stale', version: 1 })).rejects.toBeInstanceOf(ConflictError);
    const versions = await client.beta.agents.versions.list(agent.id);
    expect(versions.data.map((a) => a.version)).toEqual([2, 1]);
    expect((await client.beta.agents.retrieve(agent.id, { version: 1 })).system).toBeNull();

    await client.beta.environments.create({ name: 'dup' });
    await expect(client.beta.environments.create({ name: 'dup' })).rejects.toBeInstanceOf(ConflictError);
    await expect(client.beta.sessions.retrieve('sesn_missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('terminates on a terminal error and then rejects sends with 409', async () => {
    fake.onTurn = async (t) => t.error('billing_error', 'out of credit', 'terminal');
    const sid = await newSession();
    const stream = await client.beta.sessions.events.stream(sid);
    await sendText(sid, 'hi');
    const seen = await readUntil(stream, isTurnEnd);
    expect(seen.slice(-3).map((e) => e.type)).toEqual(['session.error', 'span.model_request_end', 'session.status_terminated']);
    expect(fake.sessions.get(sid)?.status).toBe('terminated');
    await expect(sendText(sid, 'again')).rejects.toBeInstanceOf(ConflictError);
  });

  it('budgets: create takes a cap in cents, the turn idles with budget_reached at it, a raise resumes it; unpriced models are refused', async () => {
    const agent = await client.beta.agents.create({ name: 'capped', model: 'claude-sonnet-5-5' });
    const env = await client.beta.environments.create({ name: 'budgets' });
    const budget = { type: 'limit' as const, max_list_cost: { amount: '100', currency: 'USD' as const } };
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, budget });
    expect(session.budget).toEqual(budget);
    // 400k input tokens at $3/MTok list price: $1.20, past the $1.00 cap.
    fake.onTurn = async (t) => {
      await t.usage({ input_tokens: 400_000, output_tokens: 0 });
      await t.message('after the raise');
    };
    const stream = await client.beta.sessions.events.stream(session.id);
    await sendText(session.id, 'spend');
    const paused = await readUntil(stream, (e) => e.type === 'session.status_idle');
    const usage = paused.find((e) => e.type === 'session.usage');
    expect(usage).toMatchObject({ usage: { list_cost: { amount: '120', currency: 'USD' } }, budget });
    expect(paused.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'budget_reached' } });
    // Paused at the cap: a message is refused, an interrupt is accepted and ignored.
    await expect(sendText(session.id, 'more')).rejects.toMatchObject({ status: 400, errorCode: 'budget_reached' });
    await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.interrupt' }] });
    expect(fake.events(session.id).some((e) => e.type === 'user.interrupt')).toBe(false);
    // A cap at or below the spend is not a raise; one above it resumes the turn.
    await expect(
      client.beta.sessions.update(session.id, { budget: { ...budget, max_list_cost: { amount: '120', currency: 'USD' } } }),
    ).rejects.toMatchObject({
      status: 400,
      errorCode: 'budget_not_raised',
    });
    await fake.waitFor(() => fake.openStreams(session.id) === 0);
    const resumed = client.beta.sessions.events.stream(session.id).then((s) => readUntil(s, isTurnEnd));
    await fake.waitFor(() => fake.openStreams(session.id) === 1);
    await client.beta.sessions.update(session.id, { budget: { ...budget, max_list_cost: { amount: '200', currency: 'USD' } } });
    const after = await resumed;
    expect(after.map((e) => e.type)).toEqual(
      expect.arrayContaining(['session.updated', 'session.status_running', 'agent.message', 'session.status_idle']),
    );
    expect(after.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });

    // A budget cannot be added later, and a model without a list price cannot be budgeted at all.
    const uncapped = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    await expect(client.beta.sessions.update(uncapped.id, { budget })).rejects.toMatchObject({ status: 400, errorCode: 'budget_create_only' });
    const lab = await client.beta.agents.create({ name: 'lab', model: 'claude-lab-preview' });
    await expect(client.beta.sessions.create({ agent: lab.id, environment_id: env.id, budget })).rejects.toMatchObject({
      status: 400,
      errorCode: 'model_not_budgetable',
    });
    expect((await client.beta.sessions.create({ agent: lab.id, environment_id: env.id })).budget).toBeNull();
  });

  it('dropStreams ends an open iteration cleanly', async () => {
    const sid = await newSession();
    const stream = await client.beta.sessions.events.stream(sid);
    expect(fake.openStreams(sid)).toBe(1);
    const iteration = readUntil(stream, () => false);
    fake.dropStreams(sid);
    await expect(iteration).resolves.toEqual([]);
    await fake.waitFor(() => fake.openStreams(sid) === 0);
  });
});

describe('fake managed agents: faults the bot must survive (real SDK)', () => {
  it('a create that landed and answered 500 (or lost its answer) leaves a session the list finds by metadata', async () => {
    const agent = await client.beta.agents.create({ name: 'a', model: 'claude-opus-5-5' });
    const env = await client.beta.environments.create({ name: 'e' });
    fake.failNext({ method: 'POST', path: '/v1/sessions' }, { status: 500, afterApply: true });
    await expect(client.beta.sessions.create({ agent: agent.id, environment_id: env.id, metadata: { slack_request: 'r1' } })).rejects.toMatchObject({
      status: 500,
    });
    fake.failNext({ method: 'POST', path: '/v1/sessions' }, { status: 500, afterApply: true, drop: true });
    await expect(client.beta.sessions.create({ agent: agent.id, environment_id: env.id, metadata: { slack_request: 'r2' } })).rejects.toThrow(
      /Connection error/,
    );
    const listed = [];
    for await (const s of client.beta.sessions.list({
      agent_id: agent.id,
      'created_at[gte]': new Date(Date.now() - 60_000).toISOString(),
      order: 'asc',
    }))
      listed.push(s.metadata.slack_request);
    expect(listed).toEqual(['r1', 'r2']);
    // A drop before applying leaves nothing.
    fake.failNext({ method: 'POST', path: '/v1/sessions' }, { status: 500, drop: true });
    await expect(client.beta.sessions.create({ agent: agent.id, environment_id: env.id, metadata: { slack_request: 'r3' } })).rejects.toThrow(
      /Connection error/,
    );
    expect(fake.sessions.size).toBe(2);
    const archived = await client.beta.sessions.archive([...fake.sessions.keys()][1]!);
    expect(archived.archived_at).not.toBeNull();
  });

  it('holdNext keeps a request unapplied until released', async () => {
    fake.holdNext({ method: 'POST', path: '/v1/agents' }, 'slow');
    const pending = client.beta.agents.create({ name: 'held', model: 'claude-opus-5-5' });
    await fake.waitFor(() => fake.requests.some((r) => r.path === '/v1/agents'));
    expect(fake.agents.size).toBe(0);
    fake.release('slow');
    expect((await pending).name).toBe('held');
  });

  it('holdNext after apply carries the request out at once and only holds its answer', async () => {
    fake.holdNext({ method: 'POST', path: '/v1/agents' }, 'answer', { afterApply: true });
    let answered = false;
    const pending = client.beta.agents.create({ name: 'applied', model: 'claude-opus-5-5' }).then((a) => {
      answered = true;
      return a;
    });
    await fake.waitFor(() => fake.agents.size === 1);
    expect(answered).toBe(false);
    fake.release('answer');
    expect((await pending).id).toBe([...fake.agents.keys()][0]);
  });

  it('a silenced stream stays open and says nothing (no events, no pings) while the session goes on', async () => {
    await fake.close();
    fake = await startFakeManagedAgents({ pingIntervalMs: 20 });
    client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
    const sid = await newSession();
    fake.onTurn = async (turn) => {
      await turn.gate('go');
      await turn.message('said while silent');
    };
    const response = await client.beta.sessions.events.stream(sid).asResponse();
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain(': ping');
    fake.silenceStreams(sid);
    await sendText(sid, 'hi');
    fake.release('go');
    await fake.waitFor(() => fake.sessions.get(sid)?.status === 'idle' && fake.events(sid).some((e) => e.type === 'agent.message'));
    // Ten ping intervals later nothing more has arrived, and the connection is still open.
    let more = false;
    void reader.read().then(
      () => (more = true),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(more).toBe(false);
    expect(fake.openStreams(sid)).toBe(1);
    await reader.cancel();
  });

  it('agent_with_overrides gives a session tools its agent lacks, and the turn sees them', async () => {
    const agent = await client.beta.agents.create({
      name: 'plain',
      model: 'claude-opus-5-5',
      tools: [{ type: 'agent_toolset_20260401', configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] }],
    });
    const env = await client.beta.environments.create({ name: 'e2' });
    const seen: string[][] = [];
    fake.onTurn = async (turn) => {
      seen.push(turn.customTools);
    };
    const plain = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    const custom = { type: 'custom' as const, name: 'ask_user', description: 'Ask', input_schema: { type: 'object' as const } };
    const withTools = await client.beta.sessions.create({
      agent: { type: 'agent_with_overrides', id: agent.id, version: agent.version, tools: [...(agent.tools as never[]), custom] },
      environment_id: env.id,
    });
    expect(withTools.agent.tools.filter((t) => t.type === 'custom').map((t) => (t as { name: string }).name)).toEqual(['ask_user']);
    for (const s of [plain, withTools]) await sendText(s.id, 'hi');
    await fake.waitFor(() => seen.length === 2);
    expect(seen).toEqual([[], ['ask_user']]);
  });
});
