import { randomUUID } from 'node:crypto';
import type { SessionTarget } from '../agents/profiles.js';
import { SlackCallError, type SlackWriter } from '../delivery/slack-writer.js';
import { unreachable } from '../ops/unreachable.js';
import { renderRootCard } from '../render/root-card.js';
import { bodyHash } from '../render/slack-message.js';
import { emptyHistory, threadKey, type PendingStart, type ThreadRecord, type ThreadRef } from '../store/thread-records.js';
import type { BridgeDeps, BridgeLog } from './bridge-deps.js';
import { type FirstPromptDeps, sendFirstPrompt } from './first-prompt.js';
import type { StartOutcome, StartRequest, SteerMessage, SteerOutcome, StoredStart } from './outcomes.js';
import type { Runners } from './runners.js';
import type { SessionSetup } from './session-setup.js';
import type { Starting } from './starting.js';
import { initialState } from './thread-state.js';
import type { ThreadQueues } from './thread-queues.js';

/** The Slack writes a start makes: its card, posted once (found again after an unknown outcome), and joining a channel. */
export type StartsWriter = Pick<SlackWriter, 'postedKeys' | 'findTopLevel' | 'postOnce' | 'postTopLevelOnce' | 'call'>;

export type StartsDeps = Pick<BridgeDeps, 'records' | 'profiles' | 'log' | 'replicas'> &
  FirstPromptDeps & { writer: StartsWriter } & {
    runners: Runners;
    starting: Starting;
    queues: ThreadQueues;
    setup: SessionSetup;
    /** A reply, now (the caller holds the thread's queue): a mention in a thread that already has a session is one. */
    steerNow: (ref: ThreadRef, msg: SteerMessage) => Promise<SteerOutcome>;
  };

/**
 * A new session: the profile chosen, the root card posted once, the thread record
 * written, the session created and the first prompt sent.
 */
export class Starts {
  constructor(private readonly deps: StartsDeps) {}

  /** `stored`: the request is in the store already (`/agent` stores it before its ack). */
  async start(req: StartRequest, stored?: StoredStart): Promise<StartOutcome> {
    // A stored request stays stored through a shutdown: the next start-up finishes it.
    if (this.deps.runners.closed) return { kind: 'not_started', problem: { kind: stored ? 'start_carried_over' : 'bot_restarting' } };
    if (!req.threadTs) return this.fresh(req, stored);
    // A mention names its thread up front: one racing another in the same thread waits
    // for it and becomes a reply (the chain is registered before any await).
    const ref: ThreadRef = { team: req.team, channel: req.channel, threadTs: req.threadTs };
    return this.deps.starting.chain(ref, async () => {
      const existing = await this.deps.records.get(ref);
      // A start cut short by a restart is being recovered: this mention joins it.
      if (existing?.sessionId || (existing?.status === 'starting' && existing.sessionRequest)) return this.startAsReply(ref, req);
      return this.fresh(req, stored);
    });
  }

  private async startAsReply(ref: ThreadRef, req: StartRequest): Promise<StartOutcome> {
    const msg = { user: req.user, text: req.prompt, ts: req.promptTs ?? ref.threadTs, ...(req.files ? { files: req.files } : {}) };
    const outcome = await this.deps.queues.run(threadKey(ref), () => this.deps.steerNow(ref, msg));
    return startOfReply(ref, outcome);
  }

  /**
   * A start from nothing, or one whose request is in the store already (`stored`): stored
   * before Slack was answered, or (`resumed`) found by a restart that cut it short before
   * its thread record was written. A stored request that does not start is removed (by the
   * caller once this answers), unless it is carried over to the next start-up.
   */
  async fresh(req: StartRequest, stored?: StoredStart): Promise<StartOutcome> {
    const resumed = stored?.resumed ? stored.start : undefined;
    const log = this.deps.log.child({ team: req.team, channel: req.channel, user: req.user });
    // Decided before anything is posted: an unknown profile gets an answer, not a session.
    const choice = this.deps.profiles.choose({ channel: req.channel, requested: req.profile });
    if (choice.kind === 'not_chosen') return { kind: 'not_started', problem: { kind: 'no_profile', problem: choice.problem } };
    const target = choice.target;
    const card = renderRootCard({ owner: req.user, prompt: req.prompt, profile: target.profile, state: initialState() });
    // The request is in the store before its card is posted: a crash in between is
    // finished by the next start (resumePendingStarts), which finds the card by its key.
    const by = this.deps.replicas ? { by: this.deps.replicas.leases.holder } : {};
    const start: PendingStart = stored?.start ?? { id: randomUUID(), at: Date.now(), request: { ...req }, ...by };
    if (!stored) await this.deps.records.addPendingStart(start);
    let rootTs: string;
    try {
      rootTs = await this.postRoot(req, card, start, resumed !== undefined);
    } catch (error) {
      // The bot is shutting down (its writer closed under the post): the start stays stored,
      // so the next start-up, or another replica, finishes it and finds a card that landed by its key.
      if (this.deps.runners.closed) {
        log.warn({ err: error, id: start.id }, 'shut down while posting a session root message; the start is finished when the bot is back');
        return { kind: 'not_started', problem: { kind: 'start_carried_over' } };
      }
      const code = error instanceof SlackCallError ? error.slackError : 'unknown';
      log.error({ err: error, slackError: code }, 'could not post the session root message');
      await this.deps.records.removePendingStart(start.id);
      return { kind: 'not_started', problem: { kind: 'root_card_refused', code } };
    }
    const ref: ThreadRef = { team: req.team, channel: req.channel, threadTs: req.threadTs ?? rootTs };
    if (resumed && (await this.deps.records.get(ref))) {
      // The crash came after the thread record was written: resumeActive has it.
      await this.deps.records.removePendingStart(start.id);
      return { kind: 'started', ref };
    }
    const record: ThreadRecord = {
      v: 1,
      ...ref,
      owner: req.user,
      prompt: req.prompt,
      ...(req.promptTs ? { promptTs: req.promptTs } : {}),
      ...(target.profile !== undefined ? { profile: target.profile } : {}),
      ...(target.agentVersion !== undefined ? { agentVersion: target.agentVersion } : {}),
      sessionRequest: { id: randomUUID(), agentId: target.agentId, environmentId: target.environmentId, at: Date.now() },
      ...(req.files?.length ? { promptFiles: [...req.files] } : {}),
      rootTs,
      status: 'starting',
      createdAt: Date.now(),
      ...emptyHistory(),
      posted: { root: { ts: rootTs, hash: bodyHash(card) } },
    };
    const begun = this.deps.runners.using(ref, async () => {
      // This replica follows the new thread: its lease is taken before the record shows
      // the thread to the others, so a reply that reaches another replica is relayed here.
      const claim = await this.deps.runners.claim(ref);
      if (claim.kind !== 'mine') log.warn({ thread: ref.threadTs, holder: claim.holder }, 'a new thread is already leased by another replica');
      await this.deps.records.create(record);
      await this.deps.records.removePendingStart(start.id);
      return this.beginSession(record, target, rootTs, req, log);
    });
    // For /agent the thread is only known now; replies racing session creation wait for it.
    this.deps.starting.adopt(ref, begun);
    return begun;
  }

  private async beginSession(record: ThreadRecord, target: SessionTarget, rootTs: string, req: StartRequest, log: BridgeLog): Promise<StartOutcome> {
    const ref: ThreadRef = { team: record.team, channel: record.channel, threadTs: record.threadTs };
    await this.deps.records.indexMessage(ref, rootTs);
    if (req.promptTs) await this.deps.records.indexMessage(ref, req.promptTs);
    const sessionId = await this.deps.setup.create(record, target, log);
    if (!sessionId) return { kind: 'started', ref };
    const runner = this.deps.runners.for({ ...((await this.deps.records.get(record)) ?? record), sessionId });
    // Shutting down once the session exists: the next start-up resumes the thread and sends the first prompt.
    if (!runner) return { kind: 'not_started', problem: { kind: 'start_carried_over' } };
    runner.rootJustPosted();
    await sendFirstPrompt(this.deps, runner, { ...record, sessionId }, req.files);
    return { kind: 'started', ref };
  }

  /**
   * The root card, once: it carries a key (`root` in a mention's thread, `root:<start id>`
   * at top level) so a post whose outcome is unknown, or one made before a crash
   * (`resumed`), is found in the thread or the channel history instead of posted again.
   */
  private async postRoot(req: StartRequest, card: ReturnType<typeof renderRootCard>, start: PendingStart, resumed: boolean): Promise<string> {
    const key = req.threadTs ? 'root' : `root:${start.id}`;
    if (resumed) {
      const found = req.threadTs
        ? (await this.deps.writer.postedKeys(req.channel, req.threadTs)).get(key)
        : await this.deps.writer.findTopLevel(req.channel, key, start.at);
      if (found) return found;
    }
    const post = () =>
      req.threadTs
        ? this.deps.writer.postOnce(req.channel, req.threadTs, key, card)
        : this.deps.writer.postTopLevelOnce(req.channel, key, card, start.at);
    try {
      return await post();
    } catch (error) {
      // A public channel the bot was never invited to: joining is allowed by channels:join.
      if (!(error instanceof SlackCallError && error.slackError === 'not_in_channel')) throw error;
      await this.deps.writer.call('conversations.join', { channel: req.channel });
      return post();
    }
  }
}

/** A mention that became a reply to the thread's session, as a start's outcome. */
export function startOfReply(ref: ThreadRef, outcome: SteerOutcome): StartOutcome {
  switch (outcome.kind) {
    case 'not_a_session':
      return { kind: 'not_started', problem: { kind: 'session_gone' } };
    case 'shutting_down':
      return { kind: 'not_started', problem: { kind: 'bot_restarting' } };
    case 'sent':
    case 'answered':
    case 'failed':
    case 'not_allowed':
    // Stored with the thread: the replica following it next carries it out.
    case 'queued':
      return { kind: 'started', ref };
    default:
      return unreachable(outcome);
  }
}
