import type { AgentEvent } from '../../agents/events.js';
import type { FollowOptions } from '../../agents/session-events.js';

/** Follows one session's events until told to stop or the loop ends (SessionEvents.follow). */
export type FollowEvents = (opts: FollowOptions) => Promise<void>;

export type StreamFollowerDeps = {
  follow: FollowEvents;
  /** Each batch of new events, in order. */
  onEvents: (events: AgentEvent[]) => void;
  /** Whether anything still needs the stream open; asked after every batch. */
  wanted: () => boolean;
  /** The last event folded, where a reopened stream catches up from. */
  lastProcessedAt: () => string | undefined;
  /** The stream failed for good (not called once `signal` is aborted). */
  onFailure: (error: unknown) => void;
  /** A follow loop has wound down. */
  onClosed: () => void;
  /** The owner's lifetime: once aborted, a failing stream is shutdown, not a failure. */
  signal: AbortSignal;
};

/**
 * Owns the session's event stream: opens it on demand (ready once history is caught
 * up), closes it when a batch shows nothing wants it any more, and reopens it from
 * the last folded event the next time it is wanted. At most one stream is current;
 * ones winding down are kept so close() can wait for them.
 */
export class StreamFollower {
  private current: { ready: Promise<void>; abort: AbortController } | undefined;
  /** Every follow loop still winding down. */
  private readonly loops = new Set<Promise<void>>();
  /** After the first stream, a new one catches up from the last event instead of the whole history. */
  private historyLoaded = false;

  constructor(private readonly deps: StreamFollowerDeps) {}

  /** The stream open and caught up: resolves when it is (at once if it is already). */
  open(): Promise<void> {
    if (this.current) return this.current.ready;
    const { deps } = this;
    const abort = new AbortController();
    let markReady!: () => void;
    let failReady!: (e: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    const done = deps
      .follow({
        ...(this.historyLoaded ? { since: deps.lastProcessedAt() } : {}),
        onReady: () => {
          this.historyLoaded = true;
          markReady();
        },
        onEvents: (events) => {
          deps.onEvents(events);
          if (deps.wanted()) return 'continue';
          // Forget this stream now, not when its loop has wound down: a send arriving in
          // between must open a fresh stream rather than trust one that is closing.
          this.current = undefined;
          return 'stop';
        },
        signal: abort.signal,
        resumeFrom: () => deps.lastProcessedAt(),
      })
      .catch((error: unknown) => {
        failReady(error);
        if (!deps.signal.aborted) deps.onFailure(error);
      })
      .finally(() => {
        if (this.current?.abort === abort) this.current = undefined;
        this.loops.delete(done);
        deps.onClosed();
        failReady(new Error('stream closed before it was ready'));
      });
    this.loops.add(done);
    this.current = { ready, abort };
    return ready;
  }

  stop(): void {
    const current = this.current;
    this.current = undefined;
    current?.abort.abort();
  }

  /** Closes the stream when nothing wants it (after a caller that held it is done). */
  stopIfUnwanted(): void {
    if (!this.deps.wanted()) this.stop();
  }

  /** No stream open and none winding down. */
  get closed(): boolean {
    return this.current === undefined && this.loops.size === 0;
  }

  /** Resolves once every follow loop has wound down. */
  async wound(): Promise<void> {
    await Promise.allSettled([...this.loops]);
  }
}
