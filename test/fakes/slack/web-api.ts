import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintId, nextTs } from './clock.js';
import { ApiError, METHODS, type World } from './methods.js';
import { DEFAULT_RATE_LIMITS, RateLimiter } from './rate-limit.js';
import { FakeSocketMode } from './socket.js';
import { MessageStore } from './store.js';
import type {
  ApiCall,
  Args,
  Failure,
  FakeSlack,
  FakeSlackOptions,
  FakeAgentSession,
  FakeAssistantThread,
  FakeDownload,
  FakeHomeView,
  FakeHostedFile,
  FakeUpload,
  FakeView,
  FakeUser,
  StoredMessage,
} from './types.js';

// Fields web-api JSON-stringifies into one form field (see its `WebClient` request serialisation).
const JSON_FIELDS = ['view', 'blocks', 'chunks', 'metadata', 'attachments', 'files', 'prompts', 'loading_messages'];
const RESPONSE_URL_MAX_POSTS = 5;
const AGENT_METHOD = /^(agents\.sessions|assistant\.threads)\./;
/** The "status" of an answer that is never sent: the connection is destroyed instead. */
const DROP = -1;
const LOGIN_PAGE =
  '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head>' +
  '<body><form id="signin_form" action="/" method="post"><h1>Sign in to your workspace</h1></form></body></html>';

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const fake = new FakeSlackServer(opts);
  await fake.listen();
  return fake;
}

class FakeSlackServer implements FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly responseUrlPosts: Array<{ url: string; body: Record<string, unknown> }> = [];
  readonly users = new Map<string, FakeUser>();
  readonly uploads = new Map<string, FakeUpload>();
  readonly downloads: FakeDownload[] = [];
  filesRead = true;
  private readonly hosted = new Map<string, FakeHostedFile>();
  readonly team: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly appToken: string;
  readonly socket: FakeSocketMode;
  apiUrl = '';

  private readonly botToken: string;
  private readonly socketTickets = new Set<string>();
  private readonly triggers = new Map<string, { at: number; user?: string }>();
  readonly views = new Map<string, FakeView>();
  readonly homeViews = new Map<string, FakeHomeView>();
  private readonly agentSessions = new Map<string, FakeAgentSession>();
  private readonly assistantThreads = new Map<string, FakeAssistantThread>();
  private agentRefusal: string | undefined;
  private readonly store = new MessageStore();
  private readonly statuses = new Map<string, string>();
  private readonly failures = new Map<string, Array<Failure & { left: number }>>();
  private readonly responseUrls = new Map<string, number>();
  private readonly changes = new EventEmitter();
  private readonly limiter: RateLimiter | undefined;
  private readonly server: Server;
  private world!: World;

  constructor(private readonly opts: FakeSlackOptions) {
    this.botToken = opts.botToken ?? 'xoxb-test';
    this.appToken = opts.appToken ?? 'xapp-test';
    this.team = opts.team ?? 'T1';
    this.botUserId = opts.botUserId ?? 'U_BOT';
    this.botId = opts.botId ?? 'B_BOT';
    this.appId = opts.appId ?? 'A_APP';
    this.users.set(this.botUserId, { id: this.botUserId, name: 'agent', real_name: 'Agent', is_bot: true });
    const now = opts.now ?? Date.now;
    if (opts.enforceRateLimits) this.limiter = new RateLimiter({ ...DEFAULT_RATE_LIMITS, ...opts.rateLimits }, now);
    this.changes.setMaxListeners(0);
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        // A bug in the fake must not look like a Slack answer the bot could handle.
        console.error('fake slack crashed on', req.url, err);
        if (!res.headersSent) res.writeHead(599).end(String(err));
      });
    });
    this.socket = new FakeSocketMode({
      appId: this.appId,
      tickets: this.socketTickets,
      changed: () => this.changed(),
      waitFor: (predicate, timeoutMs) => this.waitFor(predicate, timeoutMs),
    });
    this.server.on('upgrade', (req, socket, head) => this.socket.upgrade(req, socket, head));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.apiUrl = `${baseUrl}/api/`;
    this.world = {
      team: this.team,
      botUserId: this.botUserId,
      botId: this.botId,
      appId: this.appId,
      baseUrl,
      store: this.store,
      users: this.users,
      uploads: this.uploads,
      statuses: this.statuses,
      socketTickets: this.socketTickets,
      triggers: this.triggers,
      views: this.views,
      agentSessions: this.agentSessions,
      assistantThreads: this.assistantThreads,
      homeViews: this.homeViews,
      now: this.opts.now ?? Date.now,
      streamLifetimeMs: this.opts.streamLifetimeMs ?? 300_000,
    };
  }

  async close(): Promise<void> {
    // WebSocket connections left the HTTP server's bookkeeping at the upgrade: drop them first.
    await this.socket.close();
    this.server.closeAllConnections();
    return new Promise((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  // --- test-facing API ----------------------------------------------------------------

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  get rateLimited(): ApiCall[] {
    return this.calls.filter((c) => c.status === 429);
  }

  messages(channel: string): StoredMessage[] {
    return [...this.store.list(channel)];
  }

  thread(channel: string, threadTs: string): StoredMessage[] {
    return this.store.thread(channel, threadTs);
  }

  addHumanMessage(
    channel: string,
    m: { user: string; text: string; thread_ts?: string; files?: unknown[]; ts?: string; subtype?: string },
  ): StoredMessage {
    // Idempotent by ts: a redelivered event must not duplicate the message.
    const existing = m.ts ? this.store.find(channel, m.ts) : undefined;
    if (existing) return existing;
    if (!this.users.has(m.user)) this.users.set(m.user, { id: m.user, name: m.user.toLowerCase(), real_name: m.user });
    const threadTs = m.thread_ts && m.thread_ts !== m.ts ? m.thread_ts : undefined;
    const stored = this.store.insert(channel, {
      ts: m.ts ?? nextTs(),
      user: m.user,
      text: m.text,
      thread_ts: threadTs,
      files: m.files,
      subtype: m.subtype === 'thread_broadcast' ? undefined : m.subtype,
      reply_broadcast: m.subtype === 'thread_broadcast' ? true : undefined,
    });
    this.changed();
    return stored;
  }

  openAssistantThread(channel: string, threadTs: string): StoredMessage {
    const existing = this.store.find(channel, threadTs);
    if (existing) return existing;
    const stored = this.store.insert(channel, { ts: threadTs, user: this.botUserId, bot_id: this.botId, text: '' });
    this.changed();
    return stored;
  }

  addFile(f: { name: string; content: Buffer | string; mimetype?: string; size?: number; user?: string }): Record<string, unknown> {
    const id = mintId('F');
    const content = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content;
    const file: FakeHostedFile = {
      id,
      name: f.name,
      mimetype: f.mimetype ?? 'application/octet-stream',
      content,
      ...(f.size !== undefined ? { size: f.size } : {}),
    };
    this.hosted.set(id, file);
    const path = `${this.world.baseUrl}/files-pri/${this.team}-${id}`;
    const name = encodeURIComponent(f.name);
    return {
      id,
      created: Math.floor(Date.now() / 1000),
      timestamp: Math.floor(Date.now() / 1000),
      name: f.name,
      title: f.name,
      mimetype: file.mimetype,
      filetype: f.name.includes('.') ? f.name.split('.').pop()!.toLowerCase() : 'binary',
      pretty_type: file.mimetype,
      user: f.user ?? 'U1',
      user_team: this.team,
      editable: false,
      size: f.size ?? content.length,
      mode: 'hosted',
      is_external: false,
      external_type: '',
      is_public: false,
      public_url_shared: false,
      display_as_bot: false,
      username: '',
      url_private: `${path}/${name}`,
      url_private_download: `${path}/download/${name}`,
      permalink: `${this.world.baseUrl}/files/${f.user ?? 'U1'}/${id}/${name}`,
      is_starred: false,
      has_rich_preview: false,
      file_access: 'visible',
    };
  }

  onApplied: FakeSlack['onApplied'];
  faults: FakeSlack['faults'];
  private readonly appliedCounts = new Map<string, number>();

  failNext(method: string, failure: Failure): void {
    const queue = this.failures.get(method) ?? [];
    queue.push({ ...failure, left: failure.times ?? 1 });
    this.failures.set(method, queue);
  }

  setMember(channel: string, isMember: boolean): void {
    this.store.setMember(channel, isMember);
  }

  isMember(channel: string): boolean {
    return this.store.isMember(channel);
  }

  responseUrl(): string {
    const id = mintId('R');
    this.responseUrls.set(id, 0);
    return `${this.world.baseUrl}/response/${id}`;
  }

  mintTrigger(user?: string): string {
    const id = `${Math.floor(this.world.now() / 1000)}.${mintId('trig')}`;
    this.triggers.set(id, { at: this.world.now(), ...(user ? { user } : {}) });
    return id;
  }

  statusOf(channel: string, threadTs: string): string | undefined {
    return this.statuses.get(`${channel}:${threadTs}`);
  }

  assistantThread(channel: string, threadTs?: string): FakeAssistantThread | undefined {
    return this.assistantThreads.get(`${channel}:${threadTs ?? ''}`);
  }

  agentSession(channel: string, threadTs: string): FakeAgentSession | undefined {
    return this.agentSessions.get(`${channel}:${threadTs}`);
  }

  refuseAgentFeatures(error: string | undefined): void {
    this.agentRefusal = error;
  }

  agentSessionStopped(channel: string, threadTs: string, user: string): Record<string, unknown> {
    const session = this.agentSession(channel, threadTs);
    if (session?.status !== 'processing') {
      throw new Error(`fake slack: no Stop to press in ${channel}:${threadTs} (session ${session?.status ?? 'missing'})`);
    }
    const streaming = this.store
      .thread(channel, threadTs)
      .filter((m) => m.stream?.state === 'streaming')
      .map((m) => m.ts);
    return { type: 'agent_session_stopped', channel, user, thread_ts: threadTs, streaming_message_ts: streaming, event_ts: nextTs() };
  }

  nextTs(): string {
    return nextTs();
  }

  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lastError: unknown;
      const check = (): boolean => {
        try {
          const v = predicate();
          if (!v) return false;
          stop();
          resolve(v);
          return true;
        } catch (err) {
          lastError = err;
          return false;
        }
      };
      const stop = () => {
        clearTimeout(timer);
        this.changes.off('change', check);
      };
      const timer = setTimeout(() => {
        stop();
        const recent = this.calls
          .slice(-10)
          .map((c) => `  ${c.method} → ${c.status} ${c.response.ok ? 'ok' : String(c.response.error)}`)
          .join('\n');
        reject(
          new Error(
            `fake.waitFor timed out after ${timeoutMs} ms: ${predicate.toString()}` +
              (lastError ? `\nlast predicate error: ${String(lastError)}` : '') +
              `\nlast ${Math.min(10, this.calls.length)} of ${this.calls.length} API calls:\n${recent || '  (none)'}`,
          ),
        );
      }, timeoutMs);
      this.changes.on('change', check);
      check();
    });
  }

  onChange(listener: () => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  addReaction(channel: string, ts: string, name: string, user: string): void {
    const m = this.store.find(channel, ts);
    if (!m || m.deleted) throw new Error(`fake slack: no message ${channel}/${ts} to react to`);
    const r = m.reactions.find((x) => x.name === name);
    if (r?.users.includes(user)) return;
    if (r) r.users.push(user);
    else m.reactions.push({ name, users: [user] });
    this.changed();
  }

  // --- HTTP ---------------------------------------------------------------------------

  private changed(): void {
    this.changes.emit('change');
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.world.baseUrl);
    const body = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    const hostedId = url.pathname.match(/^\/files-pri\/[^/-]+-([^/]+)\//)?.[1];
    if (req.method === 'GET' && hostedId) return this.onDownload(hostedId, req, res);
    const [, kind, id] = url.pathname.match(/^\/(response|upload)\/([^/]+)$/) ?? [];
    if (req.method === 'POST' && kind === 'response') return this.onResponseUrl(url.toString(), id!, body, res);
    if (req.method === 'POST' && kind === 'upload') return this.onUpload(id!, contentType, body, res);
    const method = url.pathname.match(/\/api\/([A-Za-z0-9_.]+)$/)?.[1];
    if (!method) return send(res, 404, { ok: false, error: 'unknown_method' });
    const args = await parseArgs(contentType, body, url.searchParams).catch(() => undefined);
    if (!args) return send(res, 200, { ok: false, error: 'invalid_json' });
    const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)$/)?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;
    const call: ApiCall = { method, args, at: Date.now(), status: 200, response: {} };
    const [status, response, headers] = await this.answer(method, args, token);
    Object.assign(call, { status, response });
    this.calls.push(call);
    if (status === DROP) {
      // The connection dies without an answer, as when a proxy or the network drops it.
      res.socket?.destroy();
      call.status = 0;
      call.response = { ok: false, error: 'connection_dropped', applied: response.applied };
    } else send(res, status, response, headers);
    this.changed();
  }

  private async answer(method: string, args: Args, token: string | undefined): Promise<[number, Record<string, unknown>, Record<string, string>?]> {
    if (!token) return [200, { ok: false, error: 'not_authed' }];
    // The app-level token opens Socket Mode connections and does nothing else; bot tokens cannot.
    if (token !== this.botToken && token !== this.appToken) return [200, { ok: false, error: 'invalid_auth' }];
    if ((token === this.appToken) !== (method === 'apps.connections.open')) {
      return [200, { ok: false, error: 'not_allowed_token_type' }];
    }

    const failure = this.takeFailure(method, args) ?? this.faults?.({ method, args });
    if (failure?.hold) await failure.hold.catch(() => undefined);
    if (failure?.retryAfter !== undefined) return rateLimitedAnswer(failure.retryAfter);
    if (failure?.drop && !failure.afterApply) return [DROP, { applied: false }];
    if (failure?.status && !failure.afterApply) return [failure.status, { ok: false, error: 'fake_http_error' }];
    if (failure?.error) return [200, { ok: false, error: failure.error }];

    // An app that is not an agent (or lacks the scope) is refused by every agent surface alike.
    if (this.agentRefusal && AGENT_METHOD.test(method)) {
      const scope = this.agentRefusal === 'missing_scope' ? { needed: 'assistant:write', provided: 'chat:write,commands' } : {};
      return [200, { ok: false, error: this.agentRefusal, ...scope }];
    }

    // The agent surfaces (agents.sessions.*, assistant.threads.*) name their channel channel_id.
    const wait = this.limiter?.take(this.team, method, args.channel ?? args.channel_id);
    if (wait !== undefined) return rateLimitedAnswer(wait);

    const handler = METHODS[method];
    let response: Record<string, unknown>;
    if (!handler) response = { ok: false, error: 'unknown_method' };
    else {
      try {
        response = handler(this.world, args);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        response = { ok: false, error: err.code, ...err.extra };
      }
    }
    if (response.ok === true && handler) {
      const n = (this.appliedCounts.get(method) ?? 0) + 1;
      this.appliedCounts.set(method, n);
      // The write is in Slack now and its answer not yet sent: a test may kill the caller here.
      await this.onApplied?.(method, n, args);
    }
    if (failure?.drop) return [DROP, { applied: response.ok === true }];
    if (failure?.status) return [failure.status, { ok: false, error: 'fake_http_error' }];
    return [200, response];
  }

  private takeFailure(method: string, args: Args): Failure | undefined {
    const queue = this.failures.get(method);
    const index = queue?.findIndex((f) => !f.match || f.match(args)) ?? -1;
    const next = index >= 0 ? queue![index] : undefined;
    if (!next) return undefined;
    next.left -= 1;
    if (next.left <= 0) queue!.splice(index, 1);
    return next;
  }

  private onResponseUrl(url: string, id: string, body: Buffer, res: ServerResponse): void {
    const used = this.responseUrls.get(id);
    if (used === undefined || used >= RESPONSE_URL_MAX_POSTS) {
      send(res, 404, { ok: false, error: used === undefined ? 'invalid_url' : 'used_url' });
      return;
    }
    this.responseUrls.set(id, used + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    // A response_url takes a message: a JSON object.
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      send(res, 400, { ok: false, error: 'invalid_json' });
      return;
    }
    this.responseUrlPosts.push({ url, body: parsed as Record<string, unknown> });
    send(res, 200, { ok: true });
    this.changed();
  }

  /**
   * Like files.slack.com: the bytes for the bot token, and for anything else a 200 HTML
   * login page (not a 401), which a careless client would take for the file.
   */
  private onDownload(id: string, req: IncomingMessage, res: ServerResponse): void {
    const file = this.hosted.get(id);
    const authorized = req.headers.authorization === `Bearer ${this.botToken}` && this.filesRead;
    this.downloads.push({ fileId: id, authorized });
    if (!authorized) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(LOGIN_PAGE);
    } else if (!file) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html><html><body>File not found</body></html>');
    } else {
      res.writeHead(200, { 'content-type': file.mimetype, 'content-length': String(file.content.length) }).end(file.content);
    }
    this.changed();
  }

  private async onUpload(id: string, contentType: string, body: Buffer, res: ServerResponse): Promise<void> {
    const upload = this.uploads.get(id);
    if (!upload) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    // web-api POSTs multipart with the bytes in field `body`; raw bodies are accepted too.
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
      const part = form.get('body');
      upload.content = typeof part === 'string' ? Buffer.from(part) : Buffer.from(await part!.arrayBuffer());
    } else {
      upload.content = body;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${upload.content.length}`);
    this.changed();
  }
}

function rateLimitedAnswer(seconds: number): [number, Record<string, unknown>, Record<string, string>] {
  return [429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(Math.max(0, Math.round(seconds))) }];
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Form, JSON or multipart bodies plus query args; JSON-valued fields decoded. */
async function parseArgs(contentType: string, body: Buffer, query: URLSearchParams): Promise<Args> {
  const args: Args = Object.fromEntries(query);
  if (contentType.startsWith('application/json')) {
    Object.assign(args, body.length ? JSON.parse(body.toString('utf8')) : {});
  } else if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    for (const [k, v] of form) args[k] = typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer());
  } else {
    Object.assign(args, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  }
  for (const key of JSON_FIELDS) {
    const v = args[key];
    if (typeof v !== 'string') continue;
    try {
      args[key] = JSON.parse(v);
    } catch {
      // Left as a string: the method reports e.g. invalid_blocks_format.
    }
  }
  return args;
}
