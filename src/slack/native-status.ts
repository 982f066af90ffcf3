import type { ThreadState } from '../bridge/thread-state.js';
import { CoalescingLoop } from '../delivery/coalescing-loop.js';
import { SlackCallError, type SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { nativeWanted, sessionTitle, type NativeSessionStatus } from '../render/native-status.js';
import { REFUSAL_KEEP_MS, type NativeSupportStore, type Refusal } from '../store/native-support.js';
import { threadKey, type ThreadRecord, type ThreadRef } from '../store/thread-records.js';
import { nativeWords } from '../words/native.js';

/**
 * Errors that concern one thread (its root is gone, the bot left the channel, an argument
 * Slack did not like), not the workspace's agent features: that thread alone goes without.
 */
const THREAD_ERRORS = new Set([
  'thread_not_found',
  'channel_not_found',
  'not_in_channel',
  'message_not_found',
  'session_not_found',
  'invalid_arguments',
]);

/** Whether a workspace takes Slack's agent surfaces: unknown until the first call answers. */
export type NativeSupport = { kind: 'unknown' } | { kind: 'supported' } | { kind: 'refused'; error: string };

type Written = { status?: NativeSessionStatus; loading?: string };
type Thread = {
  ref: ThreadRef;
  title: string;
  owner: string;
  wanted: { status: NativeSessionStatus; loading: readonly string[] };
  written: Written;
  /** Slack refused this thread alone (see THREAD_ERRORS): nothing more is written for it. */
  given_up: boolean;
  loop: CoalescingLoop;
};

/**
 * Slack's own rendering of a session on its thread: an agent session whose status is
 * `processing` while a turn runs (Slack's "working…" row with its Stop), `active` while it
 * waits for the person, `closed` once it ended, titled from the prompt; and while it
 * processes, loading messages naming what runs ("running `npm test`…").
 *
 * Each thread's wanted status is kept and written by one coalescing loop, through the
 * write scheduler at status priority: a burst of events becomes one write of the latest.
 * When a workspace refuses the agent surfaces (not an agent app, a plan without them, a
 * scope not granted), that is remembered for the workspace, in the store (every replica
 * and the next start-up know it, for REFUSAL_KEEP_MS), and nothing more is tried there: the
 * root card and its buttons, which are always posted, carry on alone.
 */
export class NativeStatus {
  private readonly threads = new Map<string, Thread>();
  /** What this process knows of each workspace; `asked`: the store knew of no refusal when read. */
  private readonly support = new Map<string, { kind: 'supported' } | { kind: 'asked' } | ({ kind: 'refused' } & Refusal)>();
  private closed = false;

  constructor(private readonly deps: { writer: SlackWriter; log: Logger; store: NativeSupportStore; now?: () => number }) {}

  /** Threads whose native status is being kept in step (tests, and to see nothing piles up). */
  get size(): number {
    return this.threads.size;
  }

  supportIn(team: string): NativeSupport {
    const known = this.support.get(team);
    if (known?.kind === 'refused') return this.refusedIn(team) ? { kind: 'refused', error: known.error } : { kind: 'unknown' };
    return known?.kind === 'supported' ? known : { kind: 'unknown' };
  }

  /**
   * Another replica, or the bot before a restart, may have learned that the workspace
   * refuses: the store is asked once per workspace before the first native call there
   * (startBot asks for its own workspace before it takes requests, so no first write
   * waits for it).
   */
  async learn(team: string): Promise<void> {
    const refusal = await this.deps.store.refusal(team).catch((error: unknown) => {
      this.deps.log.warn({ err: error, team }, 'could not read whether this workspace refused Slack’s agent surfaces');
      return undefined;
    });
    if (refusal) this.refused(team, refusal);
    else if (!this.support.has(team)) this.support.set(team, { kind: 'asked' });
  }

  /** What the runner folded: the status Slack should show follows from it. */
  observe(record: ThreadRecord, state: ThreadState): void {
    if (this.closed || this.refusedIn(record.team)) return;
    const key = threadKey(record);
    let thread = this.threads.get(key);
    const wanted = nativeWanted(state, { failed: record.failure !== undefined });
    if (!thread) {
      // A thread first seen already ended (a restart catching up) needs no session.
      if (wanted.status === 'closed') return;
      const made: Thread = {
        ref: { team: record.team, channel: record.channel, threadTs: record.threadTs },
        title: sessionTitle(record.prompt),
        owner: record.owner,
        wanted,
        written: {},
        given_up: false,
        loop: new CoalescingLoop(
          () => this.pass(made),
          this.deps.log,
          () => this.forgetIfDone(key, made),
        ),
      };
      thread = made;
      this.threads.set(key, thread);
    }
    thread.wanted = wanted;
    if (!thread.given_up) thread.loop.request();
  }

  /** The bot replied in the thread: Slack cleared the loading messages, so they are set again if still wanted. */
  replied(team: string, channel: string, threadTs: string): void {
    const thread = this.threads.get(threadKey({ team, channel, threadTs }));
    if (!thread || thread.given_up || thread.written.loading === undefined) return;
    delete thread.written.loading;
    thread.loop.request();
  }

  /**
   * A person pressed Slack's Stop. Slack does not move the status out of `processing`
   * itself: what was written is forgotten, so the next pass writes the status again.
   */
  stopped(ref: ThreadRef): void {
    const thread = this.threads.get(threadKey(ref));
    if (!thread || thread.given_up) return;
    thread.written = {};
    thread.loop.request();
  }

  close(): void {
    this.closed = true;
    for (const t of this.threads.values()) t.loop.close();
    this.threads.clear();
  }

  /**
   * A thread whose session ended, or that waits for its person with everything written, is
   * not kept: its next turn starts from nothing written, which writes `processing` anyway.
   */
  private forgetIfDone(key: string, thread: Thread): void {
    const { written, wanted } = thread;
    const settled = written.status === wanted.status && (written.loading === undefined || written.loading === '');
    if (!thread.given_up && (written.status === 'closed' || (settled && wanted.status === 'active')) && this.threads.get(key) === thread) {
      thread.loop.close();
      this.threads.delete(key);
    }
  }

  private async pass(thread: Thread): Promise<void> {
    const { ref } = thread;
    if (thread.given_up || this.refusedIn(ref.team)) return;
    if (!this.support.has(ref.team)) {
      await this.learn(ref.team);
      if (thread.given_up || this.closed || this.refusedIn(ref.team)) return;
    }
    const { status, loading } = thread.wanted;
    if (thread.written.status !== status) {
      const first = thread.written.status === undefined;
      const ok = await this.write(thread, 'agents.sessions.setStatus', {
        channel_id: ref.channel,
        thread_ts: ref.threadTs,
        status,
        // Title and initiator count only when Slack creates the session; later they are ignored.
        ...(first ? { title: thread.title, initiator_user_id: thread.owner } : {}),
      });
      if (!ok) return;
      thread.written.status = status;
    }
    const text = status === 'processing' ? loading.join('\n') : '';
    if (thread.written.loading === text || (text === '' && thread.written.loading === undefined)) return;
    const ok = await this.write(thread, 'assistant.threads.setStatus', {
      channel_id: ref.channel,
      thread_ts: ref.threadTs,
      status: text === '' ? '' : nativeWords({ kind: 'status_working' }),
      ...(text === '' ? {} : { loading_messages: [...loading] }),
    });
    if (ok) thread.written.loading = text;
  }

  /** One native write; false when it did not land (and why is remembered, per thread or workspace). */
  private async write(thread: Thread, method: string, args: Record<string, unknown>): Promise<boolean> {
    const { ref } = thread;
    try {
      await this.deps.writer.call(method, args, 'status');
      if (this.support.get(ref.team)?.kind !== 'supported') this.support.set(ref.team, { kind: 'supported' });
      return true;
    } catch (error) {
      if (!(error instanceof SlackCallError) || error.transient) {
        // Slack unreachable or busy: the next change tries again.
        if (!this.closed) this.deps.log.warn({ err: error, method, channel: ref.channel }, 'could not update Slack’s native session status');
        return false;
      }
      if (THREAD_ERRORS.has(error.slackError)) {
        thread.given_up = true;
        this.deps.log.warn(
          { method, slackError: error.slackError, channel: ref.channel, thread: ref.threadTs },
          'Slack refused the native status of one thread; it keeps its card only',
        );
        return false;
      }
      this.deps.log.warn(
        { method, slackError: error.slackError, team: ref.team },
        'Slack refused its agent surfaces in this workspace; sessions there keep the card and its buttons only',
      );
      const refusal = await this.deps.store.refuse(ref.team, error.slackError).catch((stored: unknown) => {
        this.deps.log.warn({ err: stored, team: ref.team }, 'could not keep in the store that this workspace refused Slack’s agent surfaces');
        return { error: error.slackError, until: this.clock() + REFUSAL_KEEP_MS };
      });
      this.refused(ref.team, refusal, thread);
      return false;
    }
  }

  /** Whether the workspace refused, as far as this process knows, and not longer ago than the refusal is believed. */
  private refusedIn(team: string): boolean {
    const known = this.support.get(team);
    if (known?.kind !== 'refused') return false;
    if (known.until > this.clock()) return true;
    this.support.delete(team);
    return false;
  }

  /** Nothing more is written in the workspace: its threads are dropped (`writing` finishes its own pass). */
  private refused(team: string, refusal: Refusal, writing?: Thread): void {
    this.support.set(team, { kind: 'refused', ...refusal });
    for (const [key, t] of this.threads)
      if (t.ref.team === team && t !== writing) {
        t.loop.close();
        this.threads.delete(key);
      }
  }

  private clock(): number {
    return (this.deps.now ?? Date.now)();
  }
}
