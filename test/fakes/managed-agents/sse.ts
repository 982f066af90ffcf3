import type { ServerResponse } from 'node:http';

export const PING_INTERVAL_MS = 15_000;

/**
 * One open `GET /v1/sessions/{id}/events/stream` response.
 *
 * Framing follows what SDK 1.13's parser accepts: every frame has an `event:` line (data-only
 * frames are silently dropped by the SDK) and a single-line JSON `data:`; keep-alives are
 * `: ping` comments, which the parser skips.
 */
export class SseConnection {
  private readonly pingTimer: NodeJS.Timeout;
  private open = true;
  private muted = false;

  constructor(
    readonly sessionId: string,
    private readonly res: ServerResponse,
    /** Event types this connection asked to preview via `event_deltas[]`. */
    readonly deltas: ReadonlySet<string>,
    requestId: string,
    onClose: (conn: SseConnection) => void,
    pingIntervalMs = PING_INTERVAL_MS,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'request-id': requestId,
    });
    // The SDK's request timeout runs until response headers arrive; don't wait for the first event.
    res.flushHeaders();
    this.pingTimer = setInterval(() => this.write(': ping\n\n'), pingIntervalMs);
    this.pingTimer.unref();
    res.on('close', () => {
      this.stop();
      onClose(this);
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(event: { type: string }): void {
    this.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  /** The connection stays open and says nothing more: no events, no pings (a half-open connection). */
  mute(): void {
    this.muted = true;
  }

  /** Clean end of body: the SDK's async iteration completes normally. */
  end(): void {
    this.stop();
    this.res.end();
  }

  /** Socket reset: the SDK's iteration rejects (a network-level drop). */
  destroy(): void {
    this.stop();
    this.res.destroy();
  }

  private write(chunk: string): void {
    if (this.open && !this.muted) this.res.write(chunk);
  }

  private stop(): void {
    this.open = false;
    clearInterval(this.pingTimer);
  }
}
