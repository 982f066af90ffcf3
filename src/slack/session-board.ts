import type { ThreadState } from '../bridge/thread-state.js';
import type { CoalescingLoop } from '../delivery/coalescing-loop.js';
import { ThreadLoops } from '../delivery/thread-loops.js';
import type { Logger } from '../ops/logger.js';
import type { HomeState } from '../render/home-view.js';
import type { HomeEntry, HomeIndex } from '../store/home-index.js';
import { threadKey, type HomeProgress, type ThreadRecord, type ThreadRef } from '../store/thread-records.js';

/** A session's state as mission control shows it, from the folded state and the record. */
export function homeStateOf(state: ThreadState, record: Pick<ThreadRecord, 'failure'>): HomeState {
  if (record.failure !== undefined) return 'failed';
  switch (state.phase) {
    case 'starting':
      return 'starting';
    case 'running':
      return state.interruptId !== undefined ? 'stopping' : 'running';
    case 'waiting':
      return 'waiting';
    case 'idle':
      return 'idle';
    case 'terminated':
      return state.outcome === 'failed' ? 'failed' : 'ended';
  }
}

const FINISHED = new Set<HomeState>(['idle', 'ended', 'failed']);

type Thread = { entry: HomeEntry; written: HomeProgress | undefined; loop: CoalescingLoop };

/**
 * Keeps the store's view of this process's sessions in step for the Home tab: each
 * thread's state, tokens and cost as its runner last folded them, written into the thread
 * record and the Home indexes (`HomeIndex`) so any replica renders the same tab. One
 * coalescing loop per thread: a burst of events is one write of the latest, and a fold
 * that changed nothing the tab shows (the agent's words) writes nothing. `onStateChange`
 * is called with the owner once a new state is in the store, so the tabs that show it are
 * refreshed from there (not at every event: tokens alone change no tab's shape).
 */
export class SessionBoard {
  private readonly threads = new ThreadLoops<Thread>();
  private closed = false;

  constructor(
    private readonly deps: {
      index: HomeIndex;
      log: Logger;
      onStateChange: (owner: string, team: string) => void;
    },
  ) {}

  /** Threads whose Home entry is being kept in step (tests, and to see nothing piles up). */
  get size(): number {
    return this.threads.size;
  }

  observe(record: ThreadRecord, state: ThreadState): void {
    if (this.closed) return;
    const key = threadKey(record);
    const progress: HomeProgress = {
      state: homeStateOf(state, record),
      inputTokens: state.usage.inputTokens,
      outputTokens: state.usage.outputTokens,
      ...(state.usage.cost ? { cost: { ...state.usage.cost } } : {}),
    };
    const entry: HomeEntry = {
      team: record.team,
      channel: record.channel,
      threadTs: record.threadTs,
      owner: record.owner,
      createdAt: record.createdAt,
      progress,
    };
    const thread = this.threads.ensure(key, {
      make: (loop) => ({ entry, written: undefined, loop }),
      pass: (t) => this.pass(t),
      idle: (t) => this.forgetIfDone(key, t),
      log: this.deps.log,
    });
    thread.entry = entry;
    if (!same(thread.written, progress)) thread.loop.request();
  }

  /** Writes in flight are done. */
  async settled(): Promise<void> {
    await this.threads.settled();
  }

  /** This replica stopped following the thread (its lease was lost, or handed over): its entry goes, unwritten. */
  forget(ref: ThreadRef): void {
    this.threads.drop(threadKey(ref));
  }

  close(): void {
    this.closed = true;
    this.threads.clear();
  }

  private async pass(thread: Thread): Promise<void> {
    const { entry } = thread;
    if (same(thread.written, entry.progress)) return;
    try {
      const { before } = await this.deps.index.write(entry);
      thread.written = entry.progress;
      if (before !== entry.progress.state) this.deps.onStateChange(entry.owner, entry.team);
    } catch (error) {
      // The store did not answer, or the record is gone: the next fold tries again.
      if (!this.closed) this.deps.log.warn({ err: error, channel: entry.channel, thread: entry.threadTs }, 'could not write the Home tab’s entry');
    }
  }

  /** A finished session with everything written is not kept: a new turn starts its entry again. */
  private forgetIfDone(key: string, thread: Thread): void {
    if (thread.written && FINISHED.has(thread.written.state) && same(thread.written, thread.entry.progress)) this.threads.drop(key, thread);
  }
}

function same(a: HomeProgress | undefined, b: HomeProgress): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.inputTokens === b.inputTokens &&
    a.outputTokens === b.outputTokens &&
    a.cost?.amount === b.cost?.amount &&
    a.cost?.currency === b.cost?.currency
  );
}
