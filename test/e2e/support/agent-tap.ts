import { EventEmitter } from 'node:events';
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeManagedAgents } from '../../fakes/managed-agents/index.js';
import { forwardTo, readAll } from './forward.js';

/** One request a replica made to the Managed Agents API. */
export interface TappedRequest {
  replica: string;
  method: string;
  path: string;
  /** Parsed JSON body of a POST (undefined otherwise). */
  body: unknown;
  at: number;
  /** Set when the answer (for a stream: the end of it) is through. */
  done: boolean;
}

const EVENTS_PATH = /^\/v1\/sessions\/([^/]+)\/events(\?.*)?$/;
const STREAM_PATH = /^\/v1\/sessions\/([^/]+)\/events\/stream(\?.*)?$/;

/**
 * Stands between each replica and the fake Managed Agents server (each replica's
 * ANTHROPIC_BASE_URL is its own tap) and records who sent what: the events every
 * replica posted to a session (a send made twice shows as two), and which replica
 * follows a session's event stream right now.
 */
export class AgentTap {
  readonly requests: TappedRequest[] = [];
  private readonly servers: Server[] = [];
  private readonly agent = new Agent({ keepAlive: false });
  private readonly changes = new EventEmitter().setMaxListeners(0);

  constructor(private readonly agents: FakeManagedAgents) {}

  /** A base URL for `replica`'s ANTHROPIC_BASE_URL. */
  async urlFor(replica: string): Promise<string> {
    const upstream = Number(new URL(this.agents.url).port);
    const server = createServer(async (req, res) => {
      const raw = await readAll(req).catch(() => undefined);
      if (!raw) return void res.destroy();
      let body: unknown;
      if (req.method === 'POST' && String(req.headers['content-type'] ?? '').includes('json')) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          body = undefined;
        }
      }
      const entry: TappedRequest = { replica, method: req.method ?? 'GET', path: req.url ?? '/', body, at: Date.now(), done: false };
      this.requests.push(entry);
      this.changes.emit('change');
      const done = () => {
        if (entry.done) return;
        entry.done = true;
        this.changes.emit('change');
      };
      res.on('close', done);
      await forwardTo(upstream, req, raw, res, this.agent);
      done();
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Resolves with the predicate's first truthy value, checked whenever a request starts or ends. */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = predicate();
        if (!v) return;
        stop();
        resolve(v);
      };
      const stop = () => {
        clearTimeout(timer);
        this.changes.off('change', check);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`tap.waitFor timed out after ${timeoutMs} ms: ${predicate.toString()}`));
      }, timeoutMs);
      this.changes.on('change', check);
      check();
    });
  }

  /** Replicas with an event stream of the session open now. */
  following(sessionId: string): string[] {
    return [
      ...new Set(this.requests.filter((r) => !r.done && r.method === 'GET' && STREAM_PATH.exec(r.path)?.[1] === sessionId).map((r) => r.replica)),
    ];
  }

  /** The user events posted to the session, by every replica, one entry per event. */
  sent(sessionId: string): Array<{ replica: string; type: string; text: string }> {
    return this.requests.flatMap((r) => {
      if (r.method !== 'POST' || EVENTS_PATH.exec(r.path)?.[1] !== sessionId) return [];
      const events = (r.body as { events?: Array<{ type?: unknown; content?: unknown }> } | undefined)?.events ?? [];
      return events.map((e) => ({
        replica: r.replica,
        type: String(e.type),
        text: Array.isArray(e.content)
          ? (e.content as Array<{ type?: string; text?: string }>)
              .filter((b) => b.type === 'text')
              .map((b) => b.text ?? '')
              .join('\n')
          : '',
      }));
    });
  }

  /** Events of `type` posted to the session (by anyone). */
  count(sessionId: string, type: string): number {
    return this.sent(sessionId).filter((e) => e.type === type).length;
  }

  /** user.message events posted to the session whose text includes `text`. */
  messagesWith(sessionId: string, text: string): number {
    return this.sent(sessionId).filter((e) => e.type === 'user.message' && e.text.includes(text)).length;
  }

  /** POSTs to exactly this path (e.g. `/v1/agents`), by every replica. */
  posts(path: string): number {
    return this.requests.filter((r) => r.method === 'POST' && r.path.split('?')[0] === path).length;
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.closeAllConnections();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.agent.destroy();
  }
}
