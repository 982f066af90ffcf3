import { APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { AgentsClient } from './client.js';
import { parseAgentEvent, type AgentEvent } from './events.js';
import type { Logger } from '../ops/logger.js';
import { delay } from '../ops/delay.js';

export type BatchVerdict = 'continue' | 'stop';

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
     * The SDK swallows the server's heartbeats and never times out an open body, so a
     * half-open connection would wait forever. After this long without an event the
     * connection is replaced (catching up through the list makes that free of loss).
     */
    private readonly silenceMs = 5 * 60_000,
  ) {}

  /** Resolves when onEvents said stop or the signal aborted; throws on a permanent API error. */
  async follow(opts: FollowOptions): Promise<void> {
    let since = opts.since;
    let readyCalled = false;
    let failures = 0;
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
        }, this.silenceMs);
      };
      try {
        const stream = await this.client.beta.sessions.events.stream(this.sessionId, { event_deltas: ['agent.message'] }, { signal: connection.signal });
        const history = await this.history(since, connection.signal);
        if (!readyCalled) {
          readyCalled = true;
          opts.onReady?.();
        }
        failures = 0;
        if (this.deliver(history, opts) === 'stop') return;
        resetWatchdog();
        for await (const raw of stream) {
          resetWatchdog();
          if (this.deliver([parseAgentEvent(raw)], opts) === 'stop') return;
        }
        this.log.info({ sessionId: this.sessionId }, 'event stream ended; reconnecting');
      } catch (error) {
        if (opts.signal.aborted) return;
        if (silent) {
          this.log.warn({ sessionId: this.sessionId, silenceMs: this.silenceMs }, 'event stream silent too long; reconnecting');
        } else {
          if (error instanceof APIUserAbortError) return;
          if (error instanceof APIError && error.status !== undefined && [400, 401, 403, 404].includes(error.status)) throw error;
          failures += 1;
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

  private deliver(events: AgentEvent[], opts: FollowOptions): BatchVerdict {
    const fresh = events.filter((e) => {
      if (!e.id) return true;
      const key = `${e.id}:${'processed_at' in e && e.processed_at ? 'p' : 'q'}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    return fresh.length > 0 || events.length === 0 ? opts.onEvents(fresh) : 'continue';
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
