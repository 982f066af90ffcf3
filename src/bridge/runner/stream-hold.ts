import type { ThreadState } from '../thread-state.js';
import { wantsStream } from './thread-view.js';

export type StreamHoldDeps = {
  /** Opens the session's stream (caught up once it resolves). */
  open: () => Promise<void>;
  /** Closes the stream unless something still wants it. */
  stopIfUnwanted: () => void;
  /** Something that held the stream let go: the owner may be quiet now. */
  released: () => void;
};

/**
 * Why the stream stays open when the session itself would not need it: people's intents
 * in flight (each holds it while it runs), and a session that will move by itself after a
 * person's action (a raised cap resumes it, an archive ends it) until it reaches one of
 * the phases named.
 */
export class StreamHold {
  private holds = 0;
  private followUntil: ReadonlyArray<ThreadState['phase']> | undefined;

  constructor(private readonly deps: StreamHoldDeps) {}

  /** Holds the stream open while `work` runs. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    this.holds += 1;
    try {
      return await work();
    } finally {
      this.holds -= 1;
      this.deps.stopIfUnwanted();
      this.deps.released();
    }
  }

  /** Follow the stream until the session reaches one of `phases` (undefined: no longer). */
  follow(phases: ReadonlyArray<ThreadState['phase']> | undefined): void {
    this.followUntil = phases;
    if (phases) void this.deps.open().catch(() => undefined);
    else this.deps.stopIfUnwanted();
  }

  /** The fold reached `phase`: a follow waiting for it is done. */
  reached(phase: ThreadState['phase']): void {
    if (this.followUntil?.includes(phase)) this.followUntil = undefined;
  }

  /** Whether the stream must stay open for this state (see wantsStream). */
  wants(state: ThreadState): boolean {
    return wantsStream(state, { holds: this.holds, followUntil: this.followUntil });
  }

  /** An intent is running. */
  get held(): boolean {
    return this.holds > 0;
  }
}
