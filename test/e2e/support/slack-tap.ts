import { EventEmitter } from 'node:events';
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeSlack } from '../../fakes/slack/index.js';
import { forwardTo, readAll } from './forward.js';

/** One Web API call a replica made to Slack. */
export interface TappedSlackCall {
  replica: string;
  /** The Web API method (`chat.postMessage`). */
  method: string;
  /** `channel` (or `channel_id`) of the call, when it names one. */
  channel: string | undefined;
  /** When the tap got the request, before the fake Slack applied it. */
  at: number;
}

/**
 * Stands between each replica and the fake Slack's Web API (each replica's SLACK_API_URL is
 * its own tap) and records which replica called which method for which channel: the fake
 * Slack itself cannot tell the replicas apart, as they share one bot token.
 */
export class SlackTap {
  readonly calls: TappedSlackCall[] = [];
  private readonly servers: Server[] = [];
  private readonly agent = new Agent({ keepAlive: false });
  private readonly changes = new EventEmitter().setMaxListeners(0);

  constructor(private readonly slack: FakeSlack) {}

  /** A URL for `replica`'s SLACK_API_URL. */
  async urlFor(replica: string): Promise<string> {
    const upstream = new URL(this.slack.apiUrl);
    const server = createServer(async (req, res) => {
      const raw = await readAll(req).catch(() => undefined);
      if (!raw) return void res.destroy();
      const method = (req.url ?? '').split('?')[0]?.split('/').pop() ?? '';
      this.calls.push({ replica, method, channel: channelOf(raw.toString('utf8'), String(req.headers['content-type'] ?? '')), at: Date.now() });
      this.changes.emit('change');
      await forwardTo(Number(upstream.port), req, raw, res, this.agent);
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`;
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.closeAllConnections();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.agent.destroy();
  }
}

function channelOf(body: string, contentType: string): string | undefined {
  let fields: Record<string, unknown> = {};
  try {
    fields = contentType.includes('json') ? (JSON.parse(body) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(body));
  } catch {
    return undefined;
  }
  const channel = fields.channel ?? fields.channel_id;
  return typeof channel === 'string' ? channel : undefined;
}
