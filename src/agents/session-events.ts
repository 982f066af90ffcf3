import { APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { Stream } from '@anthropic-ai/sdk/streaming';
import type { AgentsClient } from './client.js';
import { parseAgentEvent, type AgentEvent } from './events.js';
import type { Logger } from '../ops/logger.js';
import { delay } from '../ops/delay.js';

export type BatchVerdict = 'continue' | 'stop';

/**
 * The API keeps a quiet stream alive with heartbeats; their interval is not documented.
 * The fake (our model of the API) sends one every 15 s; the watchdog allows that and a
 * few seconds more before it calls the connection dead.
 */
const DEFAULT_STREAM_SILENCE_MS = 20_000;
/** A watchdog that fired although nothing was missed doubles its limit, up to this. */
const MAX_STREAM_SILENCE_MS = 5 * 60_000;

export type FollowOptions = {
  /** Catch up from here (processed_at); undefined reads the whole history. */
  since?: string;
  /** Called once the stream is open and history is caught up (safe to send now). */
  onReady?: () => void;
  /** Receives new events in order; returning 'stop' closes the stream. */
  onEvents: (events: AgentEvent[]) => BatchVerdict;
  signal: AbortSignal;
  /** Where to catch up from after a reconnect. */
  resumeFrom: () => string | undefined;
};

/**
 * One session's events, exactly once, across dropped connections. The stream never
 * replays and the SDK never reconnects, so: open the stream first, read the history
 * from the list endpoint, skip what was already seen, then follow the stream; when it
 * ends or fails, do it all again from the last processed_at.
 */
export class SessionEvents {
  /** id + processed-or-queued: a queued user event legitimately arrives twice. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly client: AgentsClient,
    private readonly sessionId: string,
    private readonly log: Logger,
    private readonly backoff = { initialMs: 500, maxMs: 10_000 },
    /**
     * A connection can stay open while nothing reaches it (a proxy or load balancer that
     * lost the other side): no frames, no heartbeats, and the SDK never times out an open
     * body. Any bytes count as life, heartbeats included (the SDK drops those before we
     * see an event, so the bytes are watched below it). After this long without any,
     * the connection is replaced and the list fills the gap.
     */
    private readonly silenceMs = DEFAULT_STREAM_SILENCE_MS,
    /** Told each time the stream is opened again, and why (the reconnect metric). */
    private readonly onReconnect: (reason: 'ended' | 'silent' | 'failed') => void = () => undefined,
  ) {}

  /** Resolves when onEvents said stop or the signal aborted; throws on a permanent API error. */
  async follow(opts: FollowOptions): Promise<void> {
    let since = opts.since;
    let readyCalled = false;
    let failures = 0;
    // A server whose heartbeats are further apart than assumed must not make every quiet
    // stream reconnect at that pace: a watchdog that fired although nothing was missed
    // waits longer next time.
    let limit = this.silenceMs;
    let afterSilence = false;
    while (!opts.signal.aborted) {
      const connection = new AbortController();
      const onAbort = () => connection.abort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      let silent = false;
      let watchdog: NodeJS.Timeout | undefined;
      const resetWatchdog = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          silent = true;
          connection.abort();
        }, limit);
      };
      try {
        const stream = await this.open(connection, resetWatchdog);
        resetWatchdog();
        const history = await this.history(since, connection.signal);
        if (!readyCalled) {
          readyCalled = true;
          opts.onReady?.();
        }
        failures = 0;
        const caughtUp = this.deliver(history, opts);
        if (afterSilence) {
          limit = caughtUp.fresh === 0 ? Math.min(limit * 2, MAX_STREAM_SILENCE_MS) : this.silenceMs;
          afterSilence = false;
        }
        if (caughtUp.verdict === 'stop') return;
        for await (const raw of stream) {
          if (this.deliver([parseAgentEvent(raw)], opts).verdict === 'stop') return;
        }
        if (opts.signal.aborted) return;
        if (silent) {
          afterSilence = true;
          this.onReconnect('silent');
          this.log.warn({ sessionId: this.sessionId, silenceMs: limit }, 'event stream silent too long; reconnecting');
        } else {
          this.onReconnect('ended');
          this.log.info({ sessionId: this.sessionId }, 'event stream ended; reconnecting');
        }
      } catch (error) {
        if (opts.signal.aborted) return;
        if (silent) {
          afterSilence = true;
          this.onReconnect('silent');
          this.log.warn({ sessionId: this.sessionId, silenceMs: limit }, 'event stream silent too long; reconnecting');
        } else {
          if (error instanceof APIUserAbortError) return;
          if (error instanceof APIError && error.status !== undefined && [400, 401, 403, 404].includes(error.status)) throw error;
          failures += 1;
          this.onReconnect('failed');
          this.log.warn({ sessionId: this.sessionId, err: error, failures }, 'event stream failed; reconnecting');
        }
      } finally {
        clearTimeout(watchdog);
        opts.signal.removeEventListener('abort', onAbort);
        connection.abort();
      }
      since = opts.resumeFrom();
      // Even a clean end waits a little: a server closing streams at once must not become a busy loop.
      const wait = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.max(0, failures - 1));
      await delay(wait, opts.signal).catch(() => undefined);
    }
  }

  /** Opens the stream with its bytes watched: `onBytes` on every chunk, heartbeats included. */
  private async open(connection: AbortController, onBytes: () => void): Promise<AsyncIterable<unknown>> {
    const response = await this.client.beta.sessions.events
      .stream(this.sessionId, { event_deltas: ['agent.message'] }, { signal: connection.signal })
      .asResponse();
    if (!response.body) throw new Error('the event stream answered without a body');
    const watched = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          onBytes();
          controller.enqueue(chunk);
        },
      }),
    );
    return Stream.fromSSEResponse<unknown>(new Response(watched, { status: response.status, headers: response.headers }), connection, this.client);
  }

  private deliver(events: AgentEvent[], opts: FollowOptions): { verdict: BatchVerdict; fresh: number } {
    const fresh = events.filter((e) => {
      if (!e.id) return true;
      const key = `${e.id}:${'processed_at' in e && e.processed_at ? 'p' : 'q'}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    return { verdict: fresh.length > 0 || events.length === 0 ? opts.onEvents(fresh) : 'continue', fresh: fresh.length };
  }

  private async history(since: string | undefined, signal: AbortSignal): Promise<AgentEvent[]> {
    const events: AgentEvent[] = [];
    const params = { limit: 1000, order: 'asc' as const, ...(since ? { 'created_at[gte]': since } : {}) };
    for await (const raw of this.client.beta.sessions.events.list(this.sessionId, params, { signal })) {
      events.push(parseAgentEvent(raw));
    }
    return events;
  }
}
