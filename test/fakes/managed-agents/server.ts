/** HTTP layer: auth, beta gate, injected failures, routing, JSON/error envelopes, request log. */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileStore } from './files.js';
import { forwardOnly, paginate, readPageQuery } from './pagination.js';
import { addResource, deleteResource, findResource, resolveResource } from './resources.js';
import { Gates, defaultScript, makeTurn } from './script.js';
import { listPriceOf } from './pricing.js';
import { SessionRuntime, validateBudget, type SessionHost } from './session.js';
import { SseConnection } from './sse.js';
import { AgentStore, EnvironmentStore, sessionAgentSnapshot, sortBySeq } from './store.js';
import type { Failure, FailureMatch, FakeManagedAgents, RecordedRequest, SessionObj } from './types.js';
import {
  ApiError,
  badRequest,
  conflict,
  defaultErrorType,
  isObject,
  newId,
  notFound,
  now,
  optionalArray,
  parseTime,
  requireString,
  validateMetadata,
  type Json,
} from './util.js';

const BETA = 'managed-agents-2026-04-01';
const DELTA_TYPES = new Set(['agent.message', 'agent.thinking']);
/** Returned by a route that took over the response (SSE). */
const STREAMING = Symbol('streaming');

/** A route answer that is raw bytes, not JSON (file download). */
class RawBody {
  constructor(
    readonly bytes: Buffer,
    readonly contentType: string,
  ) {}
}

interface Ctx {
  params: string[];
  query: URLSearchParams;
  body: Json;
  /** The undecoded body (multipart uploads). */
  raw: Buffer;
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
}
type Handler = (ctx: Ctx) => unknown;
interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export interface FakeOptions {
  /** Accepted key (Bearer or x-api-key). Default 'test-key'. */
  apiKey?: string;
  /** Keep-alive comment interval on SSE connections. Default 15 s. */
  pingIntervalMs?: number;
}

export async function startFakeManagedAgents(opts: FakeOptions = {}): Promise<FakeManagedAgents> {
  const apiKey = opts.apiKey ?? 'test-key';
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const changed = (): void => void changes.emit('change');

  const agents = new AgentStore();
  const envs = new EnvironmentStore();
  const files = new FileStore();
  const sessions = new Map<string, SessionObj>();
  const runtimes = new Map<string, SessionRuntime>();
  const requests: RecordedRequest[] = [];
  const failures: Array<{ match: FailureMatch; failure: Failure; left: number }> = [];
  const gates = new Gates();
  const holds: Array<{ match: FailureMatch; gate: string; afterApply: boolean }> = [];
  const lifetime = new AbortController();
  let sessionSeq = 1;
  let closed = false;

  const host: SessionHost = {
    script: () => fake.onTurn,
    changed,
    scriptError: (err) => {
      fake.scriptErrors.push(err);
      console.error('[fake-managed-agents] onTurn script threw:', err);
    },
    makeTurn: (session, ctx, message) => makeTurn(session, ctx, message, gates, files),
    fileMime: (id) => (files.has(id) ? files.get(id).mime_type : undefined),
  };

  const runtime = (id: string): SessionRuntime => {
    const rt = runtimes.get(id);
    if (!rt || rt.deleted) throw notFound('Session', id);
    return rt;
  };

  // ---------------------------------------------------------------------------------------------
  // Sessions (create/list live here because they span agents, environments and runtimes)

  function createSession(body: Json): SessionObj {
    const agent = sessionAgentSnapshot(agents, body.agent);
    const env = envs.get(requireString(body, 'environment_id'));
    if (env.archived_at) throw badRequest(`Environment ${env.id} is archived`, 'environment_archived');
    validateMetadata(body.metadata, false);
    const initial = optionalArray(body, 'initial_events') ?? [];
    if (initial.length > 50) throw badRequest('initial_events: at most 50 events');
    initial.forEach((e, i) => {
      if (!isObject(e) || (e.type !== 'user.message' && e.type !== 'user.define_outcome')) {
        throw badRequest(`initial_events[${i}].type: only user.message and user.define_outcome are allowed`);
      }
    });
    const budget = validateBudget(body.budget, 'budget');
    // Every model the session can run needs a public list price for a budget to be enforced.
    const model = isObject(agent.model) ? String(agent.model.id) : String(agent.model);
    if (budget && !listPriceOf(model)) {
      throw badRequest(
        `budget: model ${model} has no public list price, so a budget cannot be enforced; create the session without a budget`,
        'model_not_budgetable',
      );
    }
    const ts = now();
    const id = newId('sesn');
    const resources: unknown[] = [];
    for (const [i, r] of (optionalArray(body, 'resources') ?? []).entries()) {
      resources.push(resolveResource(r, `resources[${i}]`, files, id, resources));
    }
    const obj: SessionObj = {
      id,
      type: 'session',
      status: 'idle', // sessions start idle, and no event announces it
      title: typeof body.title === 'string' ? body.title : null,
      agent,
      environment_id: env.id,
      metadata: { ...((body.metadata as Record<string, string> | undefined) ?? {}) },
      resources,
      vault_ids: (optionalArray(body, 'vault_ids') ?? []).map(String),
      usage: {},
      stats: { active_seconds: 0, duration_seconds: 0 },
      budget: budget ?? null,
      outcome_evaluations: [],
      created_at: ts,
      updated_at: ts,
      archived_at: null,
    };
    const rt = new SessionRuntime(obj, env, sessionSeq++, host);
    if (initial.length > 0) rt.send({ events: initial }); // throws before the session is registered
    sessions.set(obj.id, obj);
    runtimes.set(obj.id, rt);
    return obj;
  }

  function listSessions(query: URLSearchParams): unknown {
    const pq = readPageQuery(query, { limit: 20, order: 'desc' });
    const statuses = new Set([...query.getAll('statuses[]'), ...query.getAll('statuses')]);
    const agentId = query.get('agent_id');
    const agentVersion = query.get('agent_version');
    const includeArchived = query.get('include_archived') === 'true';
    const bounds = (['gt', 'gte', 'lt', 'lte'] as const).flatMap((op) => {
      const raw = query.get(`created_at[${op}]`);
      return raw === null ? [] : [{ op, t: parseTime(raw) }];
    });
    const items = [...runtimes.values()].filter((rt) => {
      const s = rt.obj;
      if (rt.deleted || (!includeArchived && s.archived_at)) return false;
      if (statuses.size > 0 && !statuses.has(s.status)) return false;
      if (agentId !== null && s.agent.id !== agentId) return false;
      if (agentVersion !== null && s.agent.version !== Number(agentVersion)) return false;
      const t = parseTime(s.created_at);
      return bounds.every(({ op, t: b }) => (op === 'gt' ? t > b : op === 'gte' ? t >= b : op === 'lt' ? t < b : t <= b));
    });
    const page = paginate(
      sortBySeq(items, (rt) => rt.seq, pq.order),
      (rt) => rt.seq,
      pq,
    );
    return { data: page.data.map((rt) => rt.obj), next_page: page.next_page, prev_page: page.prev_page };
  }

  function openStream({ params, query, res, requestId }: Ctx): typeof STREAMING {
    const rt = runtime(params[0] as string);
    const deltas = [...query.getAll('event_deltas[]'), ...query.getAll('event_deltas')];
    if (deltas.length > 100) throw badRequest('event_deltas: at most 100 values');
    for (const d of deltas) {
      if (!DELTA_TYPES.has(d)) throw badRequest(`event_deltas: '${d}' is not supported; use agent.message or agent.thinking`);
    }
    const conn = new SseConnection(
      rt.obj.id,
      res,
      new Set(deltas),
      requestId,
      (c) => {
        rt.streams.delete(c);
        changed();
      },
      opts.pingIntervalMs,
    );
    rt.streams.add(conn);
    changed();
    return STREAMING;
  }

  // ---------------------------------------------------------------------------------------------
  // Routes (all updates are POST, as in the real API)

  const ID = '([^/]+)';
  const routes: Route[] = [
    { method: 'POST', pattern: /^\/v1\/agents$/, handler: ({ body }) => agents.create(body) },
    { method: 'GET', pattern: /^\/v1\/agents$/, handler: ({ query }) => agents.list(query) },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/agents/${ID}$`),
      handler: ({ params, query }) => {
        const v = query.get('version');
        if (v !== null && !/^\d+$/.test(v)) throw badRequest('version: expected an integer');
        return agents.get(params[0] as string, v === null ? undefined : Number(v));
      },
    },
    { method: 'POST', pattern: new RegExp(`^/v1/agents/${ID}$`), handler: ({ params, body }) => agents.update(params[0] as string, body) },
    { method: 'POST', pattern: new RegExp(`^/v1/agents/${ID}/archive$`), handler: ({ params }) => agents.archive(params[0] as string) },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/agents/${ID}/versions$`),
      handler: ({ params, query }) => agents.listVersions(params[0] as string, query),
    },

    { method: 'POST', pattern: /^\/v1\/environments$/, handler: ({ body }) => envs.create(body) },
    { method: 'GET', pattern: /^\/v1\/environments$/, handler: ({ query }) => envs.list(query) },
    { method: 'GET', pattern: new RegExp(`^/v1/environments/${ID}$`), handler: ({ params }) => envs.get(params[0] as string) },
    { method: 'POST', pattern: new RegExp(`^/v1/environments/${ID}$`), handler: ({ params, body }) => envs.update(params[0] as string, body) },
    { method: 'DELETE', pattern: new RegExp(`^/v1/environments/${ID}$`), handler: ({ params }) => envs.delete(params[0] as string) },
    { method: 'POST', pattern: new RegExp(`^/v1/environments/${ID}/archive$`), handler: ({ params }) => envs.archive(params[0] as string) },

    { method: 'POST', pattern: /^\/v1\/sessions$/, handler: ({ body }) => createSession(body) },
    { method: 'GET', pattern: /^\/v1\/sessions$/, handler: ({ query }) => listSessions(query) },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/sessions/${ID}$`),
      handler: ({ params }) => {
        const s = runtime(params[0] as string).obj;
        s.stats.duration_seconds = (Date.now() - Date.parse(s.created_at)) / 1000;
        return s;
      },
    },
    { method: 'POST', pattern: new RegExp(`^/v1/sessions/${ID}$`), handler: ({ params, body }) => runtime(params[0] as string).update(body) },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/sessions/${ID}$`),
      handler: ({ params }) => {
        const result = runtime(params[0] as string).delete();
        sessions.delete(result.id);
        return result;
      },
    },
    { method: 'POST', pattern: new RegExp(`^/v1/sessions/${ID}/archive$`), handler: ({ params }) => runtime(params[0] as string).archive() },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/sessions/${ID}/events$`),
      handler: ({ params, body }) => ({ data: runtime(params[0] as string).send(body) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/sessions/${ID}/events$`),
      handler: ({ params, query }) => {
        return forwardOnly(runtime(params[0] as string).listEvents(query));
      },
    },
    { method: 'GET', pattern: new RegExp(`^/v1/sessions/${ID}/events/stream$`), handler: openStream },

    {
      method: 'GET',
      pattern: new RegExp(`^/v1/sessions/${ID}/resources$`),
      handler: ({ params, query }) => {
        const all = runtime(params[0] as string).obj.resources;
        const pq = readPageQuery(query, { limit: 20, order: 'asc' });
        return forwardOnly(paginate(all, (r) => all.indexOf(r), pq));
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/sessions/${ID}/resources$`),
      handler: ({ params, body }) => {
        const rt = runtime(params[0] as string);
        if (rt.obj.archived_at || rt.obj.status === 'terminated')
          throw conflict(`Session ${rt.obj.id} is ${rt.obj.archived_at ? 'archived' : 'terminated'}`);
        if (rt.env.config.type === 'self_hosted')
          throw badRequest('file and github_repository resources are not supported in self_hosted environments');
        return addResource(rt.obj, body, files);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/sessions/${ID}/resources/${ID}$`),
      handler: ({ params }) => findResource(runtime(params[0] as string).obj, params[1] as string),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/sessions/${ID}/resources/${ID}$`),
      handler: ({ params }) => deleteResource(runtime(params[0] as string).obj, params[1] as string),
    },

    { method: 'POST', pattern: /^\/v1\/files$/, handler: ({ raw, req }) => files.upload(raw, String(req.headers['content-type'] ?? '')) },
    {
      method: 'GET',
      pattern: /^\/v1\/files$/,
      handler: ({ query, req }) => {
        // Docs: listing a session's outputs needs the managed-agents beta; the plain Files API needs none.
        if (query.get('scope_id') !== null && !hasBeta(req)) throw badRequest(`scope_id requires the 'anthropic-beta: ${BETA}' header`);
        return files.list(query);
      },
    },
    { method: 'GET', pattern: new RegExp(`^/v1/files/${ID}$`), handler: ({ params }) => files.get(params[0] as string) },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/files/${ID}/content$`),
      handler: ({ params }) => {
        const { bytes, mimeType } = files.content(params[0] as string);
        return new RawBody(bytes, mimeType);
      },
    },
    { method: 'DELETE', pattern: new RegExp(`^/v1/files/${ID}$`), handler: ({ params }) => files.delete(params[0] as string) },
  ];

  // ---------------------------------------------------------------------------------------------
  // Request pipeline

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newId('req');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const multipart = String(req.headers['content-type'] ?? '').startsWith('multipart/form-data');
    let body: unknown;
    let bodyError: string | undefined;
    if (raw.length > 0 && !multipart) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = raw.toString('utf8');
        bodyError = 'Request body is not valid JSON';
      }
    }
    requests.push({ method, path: url.pathname, query: url.searchParams, body, at: Date.now() });
    res.on('finish', changed);
    changed();

    const held = takeMatching(holds, method, url.pathname);
    if (held && !held.afterApply) {
      const passed = await gates.pass(held.gate, lifetime.signal).then(
        () => true,
        () => false,
      );
      if (!passed) return void res.destroy();
    }

    let extraHeaders: Record<string, string> = {};
    try {
      const injected = takeFailure(method, url.pathname);
      const failAfterApply = injected?.afterApply ? injected : undefined;
      if (injected?.drop && !failAfterApply) return void req.socket.destroy();
      if (injected && !failAfterApply) {
        extraHeaders = injected.headers ?? {};
        const type = injected.errorType ?? defaultErrorType(injected.status);
        throw new ApiError(injected.status, type, injected.message ?? `Injected ${injected.status} ${type}`);
      }
      if (!authorized(req)) throw new ApiError(401, 'authentication_error', 'invalid x-api-key');
      if (/^\/v1\/(agents|environments|sessions)(\/|$)/.test(url.pathname) && !hasBeta(req)) {
        throw badRequest(`This endpoint requires the 'anthropic-beta: ${BETA}' header`);
      }
      const match = findRoute(method, url.pathname);
      if (bodyError) throw badRequest(bodyError);
      if (method === 'POST' && body !== undefined && !isObject(body)) throw badRequest('Request body must be a JSON object');
      const answer = match.route.handler({
        params: match.params,
        query: url.searchParams,
        body: isObject(body) ? body : {},
        raw,
        req,
        res,
        requestId,
      });
      // Only uploads answer asynchronously; everything else stays synchronous (see session.ts).
      const result = answer instanceof Promise ? await answer : answer;
      if (held?.afterApply) {
        changed(); // carried out: tests waiting for its effect see it now
        const passed = await gates.pass(held.gate, lifetime.signal).then(
          () => true,
          () => false,
        );
        if (!passed) return void req.socket.destroy();
      }
      if (failAfterApply?.drop) return void req.socket.destroy();
      if (failAfterApply) {
        extraHeaders = failAfterApply.headers ?? {};
        const type = failAfterApply.errorType ?? defaultErrorType(failAfterApply.status);
        throw new ApiError(failAfterApply.status, type, failAfterApply.message ?? `Injected ${failAfterApply.status} ${type} after applying`);
      }
      if (result instanceof RawBody) {
        res.writeHead(200, { 'content-type': result.contentType, 'content-length': String(result.bytes.length), 'request-id': requestId });
        res.end(result.bytes);
      } else if (result !== STREAMING) sendJson(res, 200, result, requestId);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!(err instanceof ApiError)) console.error('[fake-managed-agents] internal error:', err);
      const e = err instanceof ApiError ? err : new ApiError(500, 'api_error', `Fake internal error: ${String(err)}`);
      const error: Json = { type: e.errorType, message: e.message };
      if (e.details) error.details = e.details;
      sendJson(res, e.status, { type: 'error', error, request_id: requestId }, requestId, extraHeaders);
    }
  }

  function findRoute(method: string, path: string): { route: Route; params: string[] } {
    let pathKnown = false;
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method === method) return { route, params: m.slice(1).map(decodeURIComponent) };
    }
    throw new ApiError(404, 'not_found_error', pathKnown ? `${method} is not supported on ${path}` : `Not found: ${path}`);
  }

  function takeFailure(method: string, path: string): Failure | undefined {
    const i = failures.findIndex(
      ({ match }) =>
        (!match.method || match.method.toUpperCase() === method) && (typeof match.path === 'string' ? match.path === path : match.path.test(path)),
    );
    const entry = failures[i];
    if (!entry) return undefined;
    if (--entry.left <= 0) failures.splice(i, 1);
    return entry.failure;
  }

  function takeMatching<T extends { match: FailureMatch }>(list: T[], method: string, path: string): T | undefined {
    const i = list.findIndex(
      ({ match }) =>
        (!match.method || match.method.toUpperCase() === method) && (typeof match.path === 'string' ? match.path === path : match.path.test(path)),
    );
    return i === -1 ? undefined : list.splice(i, 1)[0];
  }

  function authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    return bearer === apiKey || req.headers['x-api-key'] === apiKey;
  }

  // ---------------------------------------------------------------------------------------------
  // Test-facing object

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeManagedAgents = {
    url: `http://127.0.0.1:${port}`,
    agents: agents.latest,
    environments: envs.all,
    sessions,
    requests,
    onTurn: defaultScript,
    scriptErrors: [],
    get files() {
      return files.all;
    },
    fileBytes: (id) => files.bytesOf(id),

    // Copies, so a test holding a result cannot corrupt the log the API serves.
    events: (id) => [...knownRuntime(id).log],
    received: (id) => [...knownRuntime(id).received],

    failNext(match, failure) {
      failures.push({ match, failure, left: failure.times ?? 1 });
    },

    holdNext(match, gate, opts) {
      holds.push({ match, gate, afterApply: opts?.afterApply ?? false });
    },

    silenceStreams(sessionId) {
      for (const conn of connections(sessionId)) conn.mute();
    },

    dropStreams(sessionId, mode = 'end') {
      for (const conn of connections(sessionId)) mode === 'end' ? conn.end() : conn.destroy();
    },

    openStreams: (sessionId) => connections(sessionId).length,

    waitFor<T>(predicate: () => T | undefined | false | null, timeoutMs = 10_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let lastError: unknown;
        const cleanup = (): void => {
          clearTimeout(timer);
          changes.off('change', check);
          changes.off('closed', onClosed);
        };
        function check(): void {
          let value: T | undefined | false | null;
          try {
            value = predicate();
          } catch (err) {
            // Predicates often index into state that does not exist yet; keep waiting.
            lastError = err;
            return;
          }
          if (value) {
            cleanup();
            resolve(value);
          }
        }
        function onClosed(): void {
          cleanup();
          reject(new Error(`waitFor aborted: fake closed while waiting for ${predicate.toString()}`));
        }
        const timer = setTimeout(() => {
          cleanup();
          const why = lastError === undefined ? '' : `\nlast predicate error: ${String(lastError)}`;
          reject(new Error(`waitFor timed out after ${timeoutMs} ms waiting for ${predicate.toString()}${why}\n${describe()}`));
        }, timeoutMs);
        changes.on('change', check);
        changes.on('closed', onClosed);
        check();
      });
    },

    emit(sessionId, event) {
      if (typeof event.type !== 'string') throw new Error('emit: event.type must be a string');
      return knownRuntime(sessionId).emit(event as Json & { type: string });
    },

    release: (name) => gates.release(name),

    async close() {
      if (closed) return;
      closed = true;
      lifetime.abort();
      for (const rt of runtimes.values()) {
        rt.shutdown();
        for (const conn of rt.streams) conn.end();
      }
      changes.emit('closed');
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };

  function knownRuntime(id: string): SessionRuntime {
    const rt = runtimes.get(id);
    if (!rt) throw new Error(`fake-managed-agents: unknown session ${id}`);
    return rt;
  }

  function connections(sessionId?: string): SseConnection[] {
    const rts = sessionId === undefined ? [...runtimes.values()] : [knownRuntime(sessionId)];
    return rts.flatMap((rt) => [...rt.streams].filter((c) => c.isOpen));
  }

  function describe(): string {
    const lines = [...runtimes.values()].map((rt) => {
      const tail = rt.log
        .slice(-8)
        .map((e) => e.type)
        .join(', ');
      return `  ${rt.obj.id} status=${rt.obj.status} streams=${rt.streams.size} last events: [${tail}]`;
    });
    const reqs = requests.slice(-5).map((r) => `  ${r.method} ${r.path}${r.query.size ? `?${r.query.toString()}` : ''}`);
    return `sessions:\n${lines.join('\n') || '  (none)'}\nlast requests:\n${reqs.join('\n') || '  (none)'}`;
  }

  return fake;
}

function hasBeta(req: IncomingMessage): boolean {
  const raw = req.headers['anthropic-beta'];
  const values = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((s) => s.trim());
  return values.includes(BETA);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'request-id': requestId });
  res.end(JSON.stringify(body));
}
