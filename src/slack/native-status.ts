import type { ThreadState } from '../bridge/thread-state.js';
import type { CoalescingLoop } from '../delivery/coalescing-loop.js';
import { ThreadLoops } from '../delivery/thread-loops.js';
import { SlackCallError, type SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { TaskSet } from '../ops/task-set.js';
import { unreachable } from '../ops/unreachable.js';
import { nativeWanted, sessionTitle, type NativeSessionStatus } from '../render/native-status.js';
import { REFUSAL_KEEP_MS, type NativeSupportStore, type Refusal } from '../store/native-support.js';
import { threadKey, type ThreadRecord, type ThreadRecords, type ThreadRef } from '../store/thread-records.js';
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

/**
 * After a write Slack did not answer (unreachable, busy), the thread's loop tries again
 * this long later, doubling up to NATIVE_RETRY_MAX_MS while what is written differs from
 * what is wanted: the last write of a session (its `active` or `closed`) has no later
 * change to carry it.
 */
export const NATIVE_RETRY_BASE_MS = 2_000;
export const NATIVE_RETRY_MAX_MS = 5 * 60_000;
export const nativeRetryDelay = (attempt: number): number => Math.min(NATIVE_RETRY_MAX_MS, NATIVE_RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));

type WriteOutcome = { kind: 'written' } | { kind: 'transient' } | { kind: 'refused' };

/** Whether a workspace takes Slack's agent surfaces: unknown until the first call answers. */
export type NativeSupport = { kind: 'unknown' } | { kind: 'supported' } | { kind: 'refused'; error: string };

type Written = { status?: NativeSessionStatus; loading?: string };
type Thread = {
  ref: ThreadRef;
  title: string;
  owner: string;
  wanted: { status: NativeSessionStatus; loading: readonly string[] };
  written: Written;
  /** Slack refused this thread's session status (see THREAD_ERRORS): nothing more is written for it. */
  given_up: boolean;
  /**
   * Slack refused this thread's loading messages (assistant.threads.*, see THREAD_ERRORS):
   * only they stop, the session status is still kept in step, so its `processing` ends.
   */
  loading_off: boolean;
  /** Slack has a session for the thread already (written before): it is not titled again. */
  exists: boolean;
  /** Transient failures in a row: the next try waits nativeRetryDelay(retries). */
  retries: number;
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
  private readonly threads = new ThreadLoops<Thread>();
  /** What this process knows of each workspace; `asked`: the store knew of no refusal when read. */
  private readonly support = new Map<string, { kind: 'supported' } | { kind: 'asked' } | ({ kind: 'refused' } & Refusal)>();
  /**
   * Threads whose session this process wrote and has not closed: one forgotten while it
   * waited (settled `active`) still gets its `closed` when the session ends.
   */
  private readonly open = new Set<string>();
  /** The best-effort writes that move a thread out of `processing` when its workspace refuses. */
  private readonly endings: TaskSet;
  private closed = false;

  constructor(
    private readonly deps: {
      writer: SlackWriter;
      log: Logger;
      store: NativeSupportStore;
      /**
       * Where `nativeOpen` is kept (a session written and not yet closed): the bot after a
       * restart, or a replica taking over, closes a session that ended meanwhile.
       */
      records?: Pick<ThreadRecords, 'update'>;
      now?: () => number;
      /** How long to wait before the nth try after a transient failure (nativeRetryDelay). */
      retryDelay?: (attempt: number) => number;
    },
  ) {
    this.endings = new TaskSet(deps.log);
  }

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
      // A thread first seen already ended needs no session, unless one was written and not
      // closed (by this process before it forgot the thread, or by the one before a restart
      // or takeover): that one still shows its last status, perhaps `processing`.
      const open = this.open.has(key) || record.nativeOpen === true;
      if (wanted.status === 'closed' && !open) return;
      if (open) this.open.add(key);
      thread = this.threads.ensure(key, {
        make: (loop) => ({
          ref: { team: record.team, channel: record.channel, threadTs: record.threadTs },
          title: sessionTitle(record.prompt),
          owner: record.owner,
          wanted,
          written: {},
          exists: open,
          given_up: false,
          loading_off: false,
          retries: 0,
          loop,
        }),
        pass: (t) => this.pass(t),
        idle: (t) => this.forgetIfDone(key, t),
        log: this.deps.log,
      });
    }
    thread.wanted = wanted;
    if (!thread.given_up) thread.loop.request();
  }

  /** The bot replied in the thread: Slack cleared the loading messages, so they are set again if still wanted. */
  replied(team: string, channel: string, threadTs: string): void {
    const thread = this.threads.get(threadKey({ team, channel, threadTs }));
    if (!thread || thread.given_up || thread.loading_off || thread.written.loading === undefined) return;
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

  /**
   * This replica stopped following the thread (its lease was lost, or handed over): nothing
   * more is written for it here, and its entry goes (the replica following it now keeps it).
   */
  forget(ref: ThreadRef): void {
    const key = threadKey(ref);
    this.threads.drop(key);
    this.open.delete(key);
  }

  close(): void {
    this.closed = true;
    this.threads.clear();
  }

  /** Every pass under way and every best-effort ending has finished (tests). */
  async settled(): Promise<void> {
    await this.threads.settled();
    await this.endings.settled();
  }

  /**
   * A thread whose session ended, or that waits for its person with everything written, is
   * not kept: its next turn starts from nothing written, which writes `processing` anyway.
   */
  private forgetIfDone(key: string, thread: Thread): void {
    const { written, wanted } = thread;
    if (this.refusedIn(thread.ref.team)) {
      this.threads.drop(key, thread);
      return;
    }
    const settled = written.status === wanted.status && (thread.loading_off || written.loading === undefined || written.loading === '');
    if (!thread.given_up && (written.status === 'closed' || (settled && wanted.status === 'active'))) this.threads.drop(key, thread);
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
      const first = thread.written.status === undefined && !thread.exists;
      const outcome = await this.write(thread, 'agents.sessions.setStatus', {
        channel_id: ref.channel,
        thread_ts: ref.threadTs,
        status,
        // Title and initiator count only when Slack creates the session; later they are ignored.
        ...(first ? { title: thread.title, initiator_user_id: thread.owner } : {}),
      });
      if (outcome.kind !== 'written') return this.after(thread, outcome);
      thread.written.status = status;
      await this.keepOpen(thread, status !== 'closed');
    }
    const text = status === 'processing' ? loading.join('\n') : '';
    if (thread.loading_off || thread.written.loading === text || (text === '' && thread.written.loading === undefined)) {
      thread.retries = 0;
      return;
    }
    const outcome = await this.write(thread, 'assistant.threads.setStatus', {
      channel_id: ref.channel,
      thread_ts: ref.threadTs,
      status: text === '' ? '' : nativeWords({ kind: 'status_working' }),
      ...(text === '' ? {} : { loading_messages: [...loading] }),
    });
    if (outcome.kind === 'written') {
      thread.written.loading = text;
      thread.retries = 0;
    } else this.after(thread, outcome);
  }

  /** A write that did not land: after a transient failure the loop tries again later, on its own. */
  private after(thread: Thread, outcome: Exclude<WriteOutcome, { kind: 'written' }>): void {
    switch (outcome.kind) {
      case 'transient':
        thread.retries += 1;
        thread.loop.wake((this.deps.retryDelay ?? nativeRetryDelay)(thread.retries));
        return;
      case 'refused':
        return;
      default:
        unreachable(outcome);
    }
  }

  /**
   * Keeps in the thread record whether Slack has a session for it that is not closed, when
   * that changes (its first write, its `closed`), so the bot after a restart closes it.
   */
  private async keepOpen(thread: Thread, open: boolean): Promise<void> {
    const key = threadKey(thread.ref);
    if (open === this.open.has(key)) return;
    if (open) this.open.add(key);
    else this.open.delete(key);
    await this.deps.records
      ?.update(thread.ref, (r) => {
        if (open) r.nativeOpen = true;
        else delete r.nativeOpen;
      })
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error, thread: thread.ref.threadTs }, 'could not keep whether Slack’s session of this thread is open'),
      );
  }

  /** One native write, and if it did not land, why (remembered per thread or workspace). */
  private async write(thread: Thread, method: string, args: Record<string, unknown>): Promise<WriteOutcome> {
    const { ref } = thread;
    try {
      await this.deps.writer.call(method, args, 'status');
      if (this.support.get(ref.team)?.kind !== 'supported') this.support.set(ref.team, { kind: 'supported' });
      return { kind: 'written' };
    } catch (error) {
      if (!(error instanceof SlackCallError) || error.transient) {
        if (!this.closed) this.deps.log.warn({ err: error, method, channel: ref.channel }, 'could not update Slack’s native session status');
        return { kind: 'transient' };
      }
      if (THREAD_ERRORS.has(error.slackError)) {
        // The two methods' fates are apart: loading messages Slack will not take for this
        // thread must not leave its session on `processing`.
        if (method.startsWith('assistant.threads.')) thread.loading_off = true;
        else thread.given_up = true;
        this.deps.log.warn(
          { method, slackError: error.slackError, channel: ref.channel, thread: ref.threadTs },
          thread.given_up
            ? 'Slack refused the native status of one thread; it keeps its card only'
            : 'Slack refused the loading messages of one thread; its session status is kept',
        );
        return { kind: 'refused' };
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
      return { kind: 'refused' };
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

  /**
   * Nothing more is written in the workspace: its threads are dropped (`writing` finishes
   * its own pass). A thread Slack shows as `processing` would stay so for good: each gets
   * one best-effort write out of it (the refusal may have come from the loading messages
   * alone, the session status having worked).
   */
  private refused(team: string, refusal: Refusal, writing?: Thread): void {
    this.support.set(team, { kind: 'refused', ...refusal });
    for (const [key, t] of [...this.threads.entries()]) {
      if (t.ref.team !== team) continue;
      if (t.written.status === 'processing' && !t.given_up) this.endings.add(this.endOnce(t));
      if (t !== writing) this.threads.drop(key);
    }
  }

  private async endOnce(thread: Thread): Promise<void> {
    const status: NativeSessionStatus = thread.wanted.status === 'closed' ? 'closed' : 'active';
    thread.given_up = true;
    try {
      await this.deps.writer.call('agents.sessions.setStatus', { channel_id: thread.ref.channel, thread_ts: thread.ref.threadTs, status }, 'status');
      thread.written.status = status;
      if (status === 'closed') await this.keepOpen(thread, false);
    } catch (error) {
      this.deps.log.debug({ err: error, thread: thread.ref.threadTs }, 'could not move a refused workspace’s session out of processing');
    }
  }

  private clock(): number {
    return (this.deps.now ?? Date.now)();
  }
}
