import { z } from 'zod';
import type { SlackWriter } from '../delivery/slack-writer.js';
import { threadKey, type PendingStart, type ThreadRef } from '../store/thread-records.js';
import { replyWords } from '../words/replies.js';
import { startProblemWords } from '../words/starts.js';
import type { BridgeDeps } from './bridge-deps.js';
import { type FirstPromptDeps, sendFirstPrompt } from './first-prompt.js';
import type { StartOutcome, StartRequest, StoredStart } from './outcomes.js';
import type { Runners } from './runners.js';
import type { SessionSetup } from './session-setup.js';
import type { Starts } from './starts.js';
import type { ThreadQueues } from './thread-queues.js';

/** The one Slack write resuming makes: telling a person privately why a stored start did not happen. */
export type ResumeWriter = Pick<SlackWriter, 'call'>;

export type ResumeDeps = Pick<BridgeDeps, 'records' | 'log' | 'replicas'> &
  FirstPromptDeps & { writer: ResumeWriter } & { runners: Runners; queues: ThreadQueues; setup: SessionSetup; starts: Starts };

/**
 * How a start stored before its access rules were checked is carried out after a restart:
 * checked, started and its outcome told to the person (the guard in front of the bridge).
 */
export type AdmitStored = (req: StartRequest, stored: StoredStart) => Promise<void>;

/** On start-up: the work a stop left behind (starts being posted, threads mid-turn), picked up. */
export class Resume {
  /**
   * Stored starts this process is carrying out now (taken at the ack, or resumed): the
   * scan at start-up runs while new requests arrive, and must not start one a second time.
   */
  readonly live = new Set<string>();
  /** Set once the guard exists (it stands in front of the bridge); until then unchecked starts wait. */
  admit: AdmitStored | undefined;

  constructor(private readonly deps: ResumeDeps) {}

  /**
   * On start-up, after resumeActive: starts whose root card was being posted when the
   * process stopped. Each finds its card (or posts it) and goes on; one that cannot is
   * told to its person privately, never dropped in silence. With several replicas this
   * runs again at every scan for lapsed leases, for starts whose replica died meanwhile.
   */
  async pendingStarts(): Promise<number> {
    const pending = await this.deps.records.pendingStarts();
    let finished = 0;
    for (const start of pending) {
      if (this.live.has(start.id)) continue;
      // Another replica still making it (several replicas): it is theirs to finish.
      if (start.by && (await this.deps.replicas?.relay.alive(start.by))) continue;
      const leases = this.deps.replicas?.leases;
      // Of several replicas finding a dead one's start, the one holding the start's lease finishes it.
      const key = `start:${start.id}`;
      if (leases && (await leases.claim(key)).kind !== 'mine') continue;
      this.live.add(start.id);
      try {
        if (await this.finishStart(start)) finished += 1;
      } finally {
        this.live.delete(start.id);
        await leases?.release(key, 'done');
      }
    }
    return finished;
  }

  /** Whether it was taken up (an unchecked start waits while no guard is set). */
  private async finishStart(start: PendingStart): Promise<boolean> {
    const parsed = StoredStartSchema.safeParse(start.request);
    if (!parsed.success) {
      this.deps.log.error({ id: start.id, problem: parsed.error.message }, 'an interrupted start is unreadable; dropped');
      await this.deps.records.removePendingStart(start.id);
      return true;
    }
    const req = parsed.data as StartRequest;
    this.deps.log.info(
      { channel: req.channel, user: req.user, since: start.at, by: start.by, unchecked: start.unchecked === true },
      'finishing a start interrupted by a restart',
    );
    // Stored at its ack, before anyone checked who may: the guard checks, starts and answers it.
    if (start.unchecked) {
      if (!this.admit) return false;
      // A mention whose thread record was written after it was stored: resumeActive has that thread.
      const record = req.threadTs ? await this.deps.records.get({ team: req.team, channel: req.channel, threadTs: req.threadTs }) : undefined;
      if (record && record.createdAt >= start.at) {
        await this.deps.records.removePendingStart(start.id);
        return true;
      }
      await this.admit(req, { start, resumed: true }).catch((error: unknown) =>
        this.deps.log.error({ err: error, id: start.id }, 'could not finish an interrupted start; it stays stored'),
      );
      return true;
    }
    const outcome = await this.deps.starts.fresh(req, { start, resumed: true }).catch((error: unknown): StartOutcome => {
      this.deps.log.error({ err: error }, 'could not finish an interrupted start');
      return { kind: 'not_started', problem: { kind: 'start_interrupted' } };
    });
    if (outcome.kind === 'started') return true;
    // Cut short again by a shutdown: still stored, for the next start-up or another replica.
    if (outcome.problem.kind === 'start_carried_over') return true;
    await this.deps.records.removePendingStart(start.id);
    await this.deps.writer
      .call('chat.postEphemeral', {
        channel: req.channel,
        user: req.user,
        text: startProblemWords(outcome.problem),
        ...(req.threadTs ? { thread_ts: req.threadTs } : {}),
      })
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not tell the person why their session did not start'));
    return true;
  }

  /** On start-up: every thread that was mid-turn is reopened and caught up (those another replica follows are left to it). */
  async active(): Promise<number> {
    const refs = await this.deps.records.activeRefs();
    await Promise.all(refs.map((ref) => this.thread(ref)));
    if (refs.length > 0) this.deps.log.info({ threads: refs.length }, 'resumed active threads');
    return refs.length;
  }

  /**
   * One thread reopened and caught up, if it is still mid-turn and this replica gets its
   * lease: at start-up, and when another replica stopped renewing it (the same catch-up a
   * restart does: adopt what the record says is posted, fold the history, deliver the rest).
   * Says whether this replica took it up now.
   */
  thread(ref: ThreadRef): Promise<boolean> {
    return this.deps.queues.run(threadKey(ref), () =>
      this.deps.runners.using(ref, async () => {
        if ((await this.deps.runners.claim(ref)).kind !== 'mine') return false;
        // Followed here already (a renewal came late and its deadline showed as passed).
        if (this.deps.runners.has(ref)) return false;
        let record = await this.deps.records.get(ref);
        if (!record || (record.status !== 'starting' && record.status !== 'active')) return false;
        const log = this.deps.log.child({ team: record.team, channel: record.channel, user: record.owner });
        if (!record.sessionId) {
          // Died between writing the request and the session id: the session may exist.
          if (!record.sessionRequest) {
            await this.deps.setup.failBeforeSession(record, replyWords({ kind: 'restarted_before_session' }));
            return false;
          }
          const sessionId = await this.deps.setup.recover({ ...record, sessionRequest: record.sessionRequest }, log);
          if (!sessionId) return false;
          record = { ...record, sessionId };
        }
        const runner = this.deps.runners.for({ ...record, sessionId: record.sessionId! });
        // Shutting down: the thread stays in the active set for the next start-up (or another replica).
        if (!runner) return false;
        const resumed = await runner.resume();
        if (resumed.kind === 'prompt_unsent') await sendFirstPrompt(this.deps, runner, { ...record, sessionId: record.sessionId! });
        return true;
      }),
    );
  }
}

/** A StartRequest as the store keeps it (files are kept as Slack sent them). */
const StoredStartSchema = z.object({
  team: z.string(),
  channel: z.string(),
  user: z.string(),
  prompt: z.string(),
  threadTs: z.string().optional(),
  promptTs: z.string().optional(),
  profile: z.string().optional(),
  files: z.array(z.unknown()).optional(),
});
