// Socket Mode: the WebSocket behind apps.connections.open, as far as @slack/socket-mode's
// client needs it. The real SocketModeClient (undici WebSocket) connects,
// waits for `hello`, pings every ~1.7 s and acks envelopes by envelope_id.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { EnvelopeType, FakeSocket, SocketAck, SocketEnvelope, SocketSendOptions } from './types.js';

const ACK_TIMEOUT_MS = 3_000;

interface Pending {
  resolve(ack: SocketAck): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  sentAt: number;
}

export interface SocketWorld {
  appId: string;
  /** Tickets minted by apps.connections.open; each opens one connection. */
  tickets: Set<string>;
  changed(): void;
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
}

export class FakeSocketMode implements FakeSocket {
  readonly envelopes: SocketEnvelope[] = [];
  readonly acks: SocketAck[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  pings = 0;

  // autoPong (ws's default) answers every ping frame with a pong carrying the same data.
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: true });
  /** Connections until their TCP socket closes, oldest first. */
  private readonly sockets = new Set<WebSocket>();
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly w: SocketWorld) {}

  /** The HTTP server's `upgrade` handler: `GET /link?ticket=…` with an unused ticket, else 401. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (!/^\/link\/?$/.test(url.pathname) || !this.w.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  send(type: EnvelopeType, payload: Record<string, unknown>, opts: SocketSendOptions = {}): Promise<SocketAck> {
    const ws = this.open().at(-1);
    if (!ws) return Promise.reject(new Error('fake Slack: no open Socket Mode connection to deliver to'));
    const envelope: SocketEnvelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      // As Slack: commands and interactions may carry a response in the ack; events may not.
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api' || opts.retryAttempt !== undefined
        ? { retry_attempt: opts.retryAttempt ?? 0, retry_reason: opts.retryReason ?? '' }
        : {}),
    };
    const timeoutMs = opts.timeoutMs ?? ACK_TIMEOUT_MS;
    return new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(new Error(`fake Slack: no ack for ${type} envelope ${envelope.envelope_id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { resolve, reject, timer, sentAt: performance.now() });
      this.envelopes.push(envelope);
      ws.send(JSON.stringify(envelope));
    });
  }

  connected(): number {
    return this.open().length;
  }

  waitForConnection(timeoutMs = 10_000): Promise<number> {
    return this.w.waitFor(() => this.connected(), timeoutMs);
  }

  disconnect(reason = 'refresh_requested'): void {
    for (const ws of this.open()) {
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake' } }));
    }
  }

  /** Drops every connection (no close handshake) and fails acks still awaited. */
  async close(): Promise<void> {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`fake Slack closed before envelope ${id} was acked`));
    }
    this.pending.clear();
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Connections in the OPEN state: a close frame from either side ends that. */
  private open(): WebSocket[] {
    return [...this.sockets].filter((ws) => ws.readyState === ws.OPEN);
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('ping', () => {
      this.pings += 1;
      this.w.changed();
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => {
      this.sockets.delete(ws);
      this.closes.push({ code, reason: reason.toString('utf8') });
      this.w.changed();
    });
    ws.on('error', () => undefined); // a dropped client surfaces as 'close' (1006)
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connected(),
        debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: this.w.appId },
      }),
    );
    this.w.changed();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let msg: { envelope_id?: unknown; payload?: unknown };
    try {
      msg = JSON.parse(text(data));
    } catch {
      return; // Slack ignores what it cannot read; the missing ack shows up as a timeout.
    }
    if (typeof msg?.envelope_id !== 'string') return;
    const p = this.pending.get(msg.envelope_id);
    const ack: SocketAck = {
      envelope_id: msg.envelope_id,
      ...(typeof msg.payload === 'object' && msg.payload !== null ? { payload: msg.payload as Record<string, unknown> } : {}),
      ms: p ? performance.now() - p.sentAt : Number.NaN,
    };
    this.acks.push(ack);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(msg.envelope_id);
      p.resolve(ack);
    }
    this.w.changed();
  }
}

function text(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
