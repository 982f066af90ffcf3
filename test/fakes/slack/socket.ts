// Socket Mode: the WebSocket behind apps.connections.open, as far as @slack/socket-mode's
// client needs it. The real SocketModeClient (undici WebSocket) connects,
// waits for `hello`, pings every ~1.7 s and acks envelopes by envelope_id.
// An app may hold several connections at once (one per replica): Slack hands each envelope
// to one of them, not to all, and redelivers an event that got no ack to another.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { EnvelopeType, FakeSocket, SocketAck, SocketEnvelope, SocketSendOptions } from './types.js';

const ACK_TIMEOUT_MS = 3_000;

/** As Slack retries an Events API delivery it got no ack for: three times, then it drops it. */
export const SOCKET_EVENT_RETRIES = 3;

interface Pending {
  type: EnvelopeType;
  payload: Record<string, unknown>;
  opts: SocketSendOptions;
  /** The delivery this envelope is (0: the first). */
  attempt: number;
  /** The connection it went out on. */
  ws: WebSocket;
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
  readonly deliveries: Array<{ envelope_id: string; connection: number }> = [];
  pings = 0;

  // autoPong (ws's default) answers every ping frame with a pong carrying the same data.
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: true });
  /** Connections until their TCP socket closes, oldest first. */
  private readonly sockets = new Set<WebSocket>();
  /** Each connection's number, 1 for the first the fake accepted. */
  private readonly numbers = new Map<WebSocket, number>();
  private opened = 0;
  /** Envelopes sent so far: the next one goes to the next open connection in turn. */
  private turn = 0;
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
    return new Promise<SocketAck>((resolve, reject) => {
      const error = this.deliver({ type, payload, opts, attempt: 0, resolve, reject });
      if (error) reject(error);
    });
  }

  /**
   * Sends one envelope (a new envelope_id each delivery; an event keeps its event_id) on the
   * open connections in turn, skipping `avoid` (where the last delivery got no ack) while
   * another is open. Returns the error when no connection is open.
   */
  private deliver(d: Omit<Pending, 'ws' | 'timer' | 'sentAt'>, avoid?: WebSocket): Error | undefined {
    const open = this.open();
    const others = open.filter((ws) => ws !== avoid);
    const choices = others.length > 0 ? others : open;
    const ws = choices[this.turn++ % Math.max(choices.length, 1)];
    if (!ws) return new Error('fake Slack: no open Socket Mode connection to deliver to');
    const { type, payload, opts, attempt } = d;
    const retryAttempt = attempt > 0 ? (opts.retryAttempt ?? 0) + attempt : opts.retryAttempt;
    const envelope: SocketEnvelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      // As Slack: commands and interactions may carry a response in the ack; events may not.
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api' || retryAttempt !== undefined
        ? { retry_attempt: retryAttempt ?? 0, retry_reason: attempt > 0 ? 'timeout' : (opts.retryReason ?? '') }
        : {}),
    };
    const timeoutMs = opts.timeoutMs ?? ACK_TIMEOUT_MS;
    const timer = setTimeout(
      () => this.unacked(envelope.envelope_id, `no ack for ${type} envelope ${envelope.envelope_id} within ${timeoutMs} ms`),
      timeoutMs,
    );
    this.pending.set(envelope.envelope_id, { ...d, ws, timer, sentAt: performance.now() });
    this.envelopes.push(envelope);
    this.deliveries.push({ envelope_id: envelope.envelope_id, connection: this.numbers.get(ws) ?? 0 });
    ws.send(JSON.stringify(envelope));
    return undefined;
  }

  /**
   * No ack will come for this envelope: its ack window ran out, or the connection it went
   * out on closed first. An event is delivered again over another connection (retry_attempt
   * one more, retry_reason `timeout`, as Slack's gateway only knows the ack did not arrive)
   * until its retries are spent; a command or a click is not (Slack shows the person an error).
   */
  private unacked(envelopeId: string, why: string): void {
    const p = this.pending.get(envelopeId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(envelopeId);
    if (p.type === 'events_api' && p.attempt < SOCKET_EVENT_RETRIES) {
      const error = this.deliver(
        { type: p.type, payload: p.payload, opts: p.opts, attempt: p.attempt + 1, resolve: p.resolve, reject: p.reject },
        p.ws,
      );
      if (!error) return;
    }
    p.reject(new Error(`fake Slack: ${why}`));
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
    this.numbers.set(ws, ++this.opened);
    ws.on('ping', () => {
      this.pings += 1;
      this.w.changed();
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => {
      this.sockets.delete(ws);
      this.closes.push({ code, reason: reason.toString('utf8') });
      for (const [id, p] of [...this.pending]) {
        if (p.ws === ws) this.unacked(id, `the connection closed before envelope ${id} (${p.type}) was acked`);
      }
      this.numbers.delete(ws);
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
