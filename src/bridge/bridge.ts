import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SessionTarget } from '../agents/profiles.js';
import { describeApiError } from '../agents/api-errors.js';
import { archiveOrphans, createSessionOnce, findRequestSessions, type SessionRequest } from '../agents/create-session.js';
import type { SessionAgents } from '../agents/session-agent.js';
import { SlackCallError } from '../delivery/slack-writer.js';
import { initialState } from './thread-state.js';
import { renderRootCard } from '../render/root-card.js';
import { escapeMrkdwn } from '../render/sanitize.js';
import { delay } from '../ops/delay.js';
import { bodyHash } from '../render/slack-message.js';
import { threadKey, type PendingStart, type PreparedInput, type ThreadRecord, type ThreadRef } from '../store/thread-records.js';
import type { CapOutcome } from './runner/spend-cap-desk.js';
import { SessionRunner, type AnswerOutcome, type DecideOutcome, type InterruptOutcome, type RunnerDeps } from './session-runner.js';
import type { SharedFile } from '../slack/shared-files.js';
import type { FileIntake } from './file-intake.js';
import { ThreadQueues } from './thread-queues.js';
import { Receipts } from './runner/receipts.js';
import { budgetParam, type SpendCap } from '../access/spend-cap.js';
import { refusalWords } from '../access/words.js';
import { replyWords } from '../words/replies.js';

export type StartRequest = {
  team: string;
  channel: string;
  user: string;
  prompt: string;
  /** The thread to live in (mention or DM); absent for /agent, which posts its own root. */
  threadTs?: string;
  /** The human message that asked, when there is one (gets receipts). */
  promptTs?: string;
  /** Files shared with that message. */
  files?: readonly SharedFile[];
  /** `--profile NAME` from the prompt, if given ('' when the flag had no name). */
  profile?: string;
};

/** A human message in a session thread. */
export type SteerMessage = { user: string; text: string; ts: string; files?: readonly SharedFile[] };

export type StartOutcome = { ok: true; ref: ThreadRef; sessionId?: string } | { ok: false; words: string };

export type SteerOutcome = 'not_a_session' | 'sent' | 'failed' | 'answered' | { notAllowed: string };

export type { CapOutcome } from './runner/spend-cap-desk.js';

/** Refused because of who asked: `words` say who may. */
export type NotAllowed = { kind: 'not_allowed'; words: string };
export type DecisionOutcome = DecideOutcome | { kind: 'not_a_session' } | NotAllowed;
export type QuestionOutcome = AnswerOutcome | { kind: 'not_a_session' } | NotAllowed;

/**
 * The intents Slack input turns into (start, steer, interrupt), and the registry of
 * live session runners. Slack handlers stay thin; everything stateful is here.
 */
export class Bridge {
  private readonly runners = new Map<string, SessionRunner>();
  /** Threads whose session is being created: a reply that arrives meanwhile waits for it. */
  private readonly starting = new Map<string, Promise<unknown>>();
  private readonly evictions = new Set<Promise<unknown>>();
  private readonly evicting = new WeakSet<SessionRunner>();
  /** A thread's messages reach its session one at a time, in the order they came. */
  private readonly queues = new ThreadQueues();
  /** Background look-ups for sessions a failed create may have left; cut short on close. */
  private readonly sweeps = new Set<Promise<unknown>>();
  private readonly sweeping = new AbortController();
  private closed = false;
  private readonly receipts: Receipts;

  constructor(
    private readonly deps: RunnerDeps & {
      intake: FileIntake;
      /** People besides a session's owner who may approve its tool calls and answer its questions. */
      approversFor?: (record: ThreadRecord) => readonly string[];
      /** The `agent` a session is created with (adds the bot's custom tools an agent lacks). */
      sessionAgents?: SessionAgents;
      /** Waits before looking for a session a failed create may have left (default 30 s, then 5 min). */
      orphanSweepDelaysMs?: readonly number[];
      /** The bot's admins (ADMIN_USERS): they may decide in every session. */
      admins?: readonly string[];
      /** The spend cap a new session of this profile is created with (none: uncapped). */
      spendCapFor?: (profile: string | undefined) => SpendCap | undefined;
    },
  ) {
    this.receipts = new Receipts(deps.react, deps.log);
  }

  async start(req: StartRequest): Promise<StartOutcome> {
    if (this.closed) return { ok: false, words: replyWords({ kind: 'bot_restarting' }) };
    if (!req.threadTs) return this.startFresh(req);
    // A mention names its thread up front: one racing another in the same thread waits
    // for it and becomes a reply (the chain is registered before any await).
    const ref: ThreadRef = { team: req.team, channel: req.channel, threadTs: req.threadTs };
    const key = threadKey(ref);
    const previous = this.starting.get(key);
    const run = (async () => {
      if (previous) await previous.catch(() => undefined);
      const existing = await this.deps.records.get(ref);
      // A start cut short by a restart is being recovered: this mention joins it.
      if (existing?.sessionId || (existing?.status === 'starting' && existing.sessionRequest)) return this.startAsReply(ref, req);
      return this.startFresh(req);
    })();
    this.starting.set(key, run);
    try {
      return await run;
    } finally {
      if (this.starting.get(key) === run) this.starting.delete(key);
    }
  }

  private async startAsReply(ref: ThreadRef, req: StartRequest): Promise<StartOutcome> {
    const msg = { user: req.user, text: req.prompt, ts: req.promptTs ?? ref.threadTs, ...(req.files ? { files: req.files } : {}) };
    const outcome = await this.queues.run(threadKey(ref), () => this.steerNow(ref, msg));
    return outcome === 'not_a_session' ? { ok: false, words: replyWords({ kind: 'session_gone' }) } : { ok: true, ref };
  }

  /**
   * On start-up, after resumeActive: starts whose root card was being posted when the
   * process stopped. Each finds its card (or posts it) and goes on; one that cannot is
   * told to its person privately, never dropped in silence.
   */
  async resumePendingStarts(): Promise<number> {
    const pending = await this.deps.records.pendingStarts();
    for (const start of pending) {
      const parsed = StoredStartSchema.safeParse(start.request);
      if (!parsed.success) {
        this.deps.log.error({ id: start.id, problem: parsed.error.message }, 'an interrupted start is unreadable; dropped');
        await this.deps.records.removePendingStart(start.id);
        continue;
      }
      const req = parsed.data as StartRequest;
      this.deps.log.info({ channel: req.channel, user: req.user, since: start.at }, 'finishing a start interrupted by a restart');
      const outcome = await this.startFresh(req, start).catch((error: unknown): StartOutcome => {
        this.deps.log.error({ err: error }, 'could not finish an interrupted start');
        return { ok: false, words: replyWords({ kind: 'start_interrupted' }) };
      });
      if (outcome.ok) continue;
      await this.deps.records.removePendingStart(start.id);
      await this.deps.writer
        .call('chat.postEphemeral', {
          channel: req.channel,
          user: req.user,
          text: outcome.words,
          ...(req.threadTs ? { thread_ts: req.threadTs } : {}),
        })
        .catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not tell the person why their session did not start'));
    }
    return pending.length;
  }

  private async startFresh(req: StartRequest, resumed?: PendingStart): Promise<StartOutcome> {
    const log = this.deps.log.child({ team: req.team, channel: req.channel, user: req.user });
    // Decided before anything is posted: an unknown profile gets an answer, not a session.
    const choice = this.deps.profiles.choose({ channel: req.channel, requested: req.profile });
    if (!choice.ok) return { ok: false, words: choice.words };
    const target = choice.target;
    const card = renderRootCard({ owner: req.user, prompt: req.prompt, profile: target.profile, state: initialState() });
    // The request is in the store before its card is posted: a crash in between is
    // finished by the next start (resumePendingStarts), which finds the card by its key.
    const start: PendingStart = resumed ?? { id: randomUUID(), at: Date.now(), request: { ...req } };
    if (!resumed) await this.deps.records.addPendingStart(start);
    let rootTs: string;
    try {
      rootTs = await this.postRoot(req, card, start, resumed !== undefined);
    } catch (error) {
      const code = error instanceof SlackCallError ? error.slackError : 'unknown';
      log.error({ err: error, slackError: code }, 'could not post the session root message');
      await this.deps.records.removePendingStart(start.id);
      return { ok: false, words: replyWords({ kind: 'root_card_refused', code }) };
    }
    const ref: ThreadRef = { team: req.team, channel: req.channel, threadTs: req.threadTs ?? rootTs };
    if (resumed && (await this.deps.records.get(ref))) {
      // The crash came after the thread record was written: resumeActive has it.
      await this.deps.records.removePendingStart(start.id);
      return { ok: true, ref };
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
      posted: { root: { ts: rootTs, hash: bodyHash(card) } },
      segments: {},
      notices: [],
      interrupts: {},
      sentMessages: {},
      decisions: {},
      answers: {},
    };
    await this.deps.records.create(record);
    await this.deps.records.removePendingStart(start.id);
    const begun = this.beginSession(record, target, rootTs, req, log);
    const key = threadKey(ref);
    // For /agent the thread is only known now; replies racing session creation wait for it.
    if (!this.starting.has(key)) {
      this.starting.set(key, begun);
      void begun.finally(() => this.starting.get(key) === begun && this.starting.delete(key)).catch(() => undefined);
    }
    return begun;
  }

  private async beginSession(
    record: ThreadRecord,
    target: SessionTarget,
    rootTs: string,
    req: StartRequest,
    log: RunnerDeps['log'],
  ): Promise<StartOutcome> {
    const ref: ThreadRef = { team: record.team, channel: record.channel, threadTs: record.threadTs };
    await this.deps.records.indexMessage(ref, rootTs);
    if (req.promptTs) await this.deps.records.indexMessage(ref, req.promptTs);
    const sessionId = await this.createSession(record, target, log);
    if (!sessionId) return { ok: true, ref };
    const runner = this.runnerFor({ ...((await this.deps.records.get(record)) ?? record), sessionId });
    runner.rootJustPosted();
    await this.sendPrompt(runner, { ...record, sessionId }, req.files);
    return { ok: true, ref, sessionId };
  }

  /**
   * `sessions.create` once per thread: the request id in the record (written before
   * this call) is also put in the session's metadata, so an answer lost to a 5xx, a
   * dropped connection or a crash leads to the session that was made, not a second one.
   * Returns the session id, or undefined after telling the thread why there is none.
   */
  private async createSession(record: ThreadRecord, target: SessionTarget, log: RunnerDeps['log']): Promise<string | undefined> {
    const ref: ThreadRef = { team: record.team, channel: record.channel, threadTs: record.threadTs };
    const request: SessionRequest = record.sessionRequest ?? {
      id: randomUUID(),
      agentId: target.agentId,
      environmentId: target.environmentId,
      at: Date.now(),
    };
    const cap = this.deps.spendCapFor?.(target.profile);
    let outcome: Awaited<ReturnType<typeof createSessionOnce>>;
    try {
      // A profile's session pins the version provisioning saw, so a later edit of the
      // file never changes an agent under a running conversation.
      const agent = this.deps.sessionAgents
        ? await this.deps.sessionAgents.paramFor(target)
        : target.agentVersion !== undefined
          ? { type: 'agent' as const, id: target.agentId, version: target.agentVersion }
          : target.agentId;
      outcome = await createSessionOnce(
        this.deps.client,
        {
          // The API stops the agent at this list cost (budget_reached); a raise goes through sessions.update.
          ...(cap ? { budget: budgetParam(cap.capCents) } : {}),
          agent,
          environment_id: target.environmentId,
          title: record.prompt.slice(0, 200),
          metadata: { slack_team: record.team, slack_channel: record.channel, slack_thread: ref.threadTs, slack_user: record.owner },
        },
        request,
        log,
      );
    } catch (error) {
      outcome = { kind: 'failed', error, mayExist: false };
    }
    if (outcome.kind === 'failed') {
      const problem = describeApiError(outcome.error, 'creating the agent session');
      log.error({ err: outcome.error, status: problem.status, requestId: problem.requestId, mayExist: outcome.mayExist }, 'could not create session');
      await this.failBeforeSession(record, problem.words);
      if (outcome.mayExist) this.sweepOrphans(request, log);
      return undefined;
    }
    const sessionId = outcome.session.id;
    await this.deps.records.update(ref, (r) => {
      r.sessionId = sessionId;
      if (cap) r.spendCap = { startCents: cap.capCents, maxCents: cap.maxCents, currentCents: cap.capCents };
    });
    log.info(
      {
        thread: ref.threadTs,
        sessionId,
        adopted: outcome.adopted,
        profile: target.profile,
        agentId: target.agentId,
        agentVersion: target.agentVersion,
      },
      outcome.adopted ? 'session created (found after an unknown outcome)' : 'session created',
    );
    return sessionId;
  }

  /**
   * The thread's first prompt, with its files. What the agent gets is kept in the record
   * until the send is accepted, so a restart in between sends the same blocks (no second
   * upload); a restart during the upload redoes it from the files kept in the record.
   */
  private async sendPrompt(runner: SessionRunner, record: ThreadRecord & { sessionId: string }, files?: readonly SharedFile[]): Promise<void> {
    const ref: ThreadRef = { team: record.team, channel: record.channel, threadTs: record.threadTs };
    await runner.busy(async () => {
      let input: PreparedInput | undefined = record.promptInput;
      if (!input) {
        const shared = files ?? record.promptFiles;
        const prepared = await this.deps.intake.prepare({
          sessionId: record.sessionId,
          channel: ref.channel,
          threadTs: ref.threadTs,
          user: record.owner,
          text: record.prompt,
          ...(shared ? { files: shared } : {}),
        });
        input = prepared;
        if (prepared.blocks.length > 0 || shared?.length) {
          await this.deps.records.update(ref, (r) => {
            r.promptInput = { text: prepared.text, blocks: prepared.blocks };
          });
        }
      }
      const sent = await runner.sendMessage(input.text, { user: record.owner, ...(record.promptTs ? { ts: record.promptTs } : {}) }, input.blocks);
      if (sent.kind === 'failed') return runner.fail(sent.problem.words);
      await this.deps.records.update(ref, (r) => {
        delete r.promptInput;
        delete r.promptFiles;
      });
      if (record.promptTs) await this.receipt(ref, record.promptTs);
    });
  }

  async steer(ref: ThreadRef, msg: SteerMessage): Promise<SteerOutcome> {
    const key = threadKey(ref);
    await this.starting.get(key)?.catch(() => undefined);
    // One at a time per thread: a reply with files (downloaded and uploaded first) is
    // not overtaken by the plain reply written after it.
    if (this.queues.busy(key))
      this.deps.log.debug({ channel: ref.channel, thread: ref.threadTs, ts: msg.ts }, 'reply waits for an earlier one of its thread');
    return this.queues.run(key, () => this.steerNow(ref, msg));
  }

  private async steerNow(ref: ThreadRef, msg: SteerMessage): Promise<SteerOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return 'not_a_session';
    await this.deps.records.indexMessage(ref, msg.ts);
    const runner = this.runnerFor({ ...record, sessionId: record.sessionId });
    return runner.busy(async (): Promise<SteerOutcome> => {
      // While the agent waits on a question, a reply is its answer, not a new instruction.
      const question = await runner.openQuestion().catch(() => undefined);
      if (question && !this.mayDecide(record, msg.user)) return { notAllowed: this.whoMayDecide(record, 'answer the agent’s question') };
      // Files first: an answer carries its files, like a message does.
      const input = await this.deps.intake.prepare({
        sessionId: runner.sessionId,
        channel: ref.channel,
        threadTs: ref.threadTs,
        user: msg.user,
        text: msg.text,
        ...(msg.files ? { files: msg.files } : {}),
      });
      if (question) {
        const attachments = msg.files?.length ? { attachments: { text: input.text, blocks: input.blocks } } : {};
        const answered = await runner.answer(question, { user: msg.user, text: msg.text, ...attachments });
        if (answered.kind === 'answered') {
          await this.receipt(ref, msg.ts);
          return 'answered';
        }
      }
      const sent = await runner.sendMessage(input.text, { user: msg.user, ts: msg.ts }, input.blocks);
      if (sent.kind === 'failed') {
        await runner.note(replyWords({ kind: 'message_not_sent', problem: sent.problem.words }));
        return 'failed';
      }
      await this.receipt(ref, msg.ts);
      return 'sent';
    });
  }

  /** Approve or deny a tool call: only the owner and the profile's approvers may. */
  async decide(ref: ThreadRef, eventId: string, decision: { user: string; result: 'allow' | 'deny'; reason?: string }): Promise<DecisionOutcome> {
    await this.starting.get(threadKey(ref))?.catch(() => undefined);
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    if (!this.mayDecide(record, decision.user))
      return { kind: 'not_allowed', words: this.whoMayDecide(record, 'approve or deny the agent’s tool calls') };
    return this.runnerFor({ ...record, sessionId: record.sessionId }).decide(eventId, decision);
  }

  /** Whether a person may decide in this thread, asked before a Deny opens its reason dialog. */
  async mayDecideIn(ref: ThreadRef, user: string): Promise<true | { notAllowed: string } | 'not_a_session'> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return 'not_a_session';
    return this.mayDecide(record, user) ? true : { notAllowed: this.whoMayDecide(record, 'approve or deny the agent’s tool calls') };
  }

  /** Whether the agent waits on an ask_user question in this thread (a reply would answer it). */
  async hasOpenQuestion(ref: ThreadRef): Promise<boolean> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return false;
    return (
      (await this.runnerFor({ ...record, sessionId: record.sessionId })
        .openQuestion()
        .catch(() => undefined)) !== undefined
    );
  }

  /** A button answer to an ask_user question. */
  async answer(ref: ThreadRef, eventId: string, from: { user: string; text: string; choice?: number }): Promise<QuestionOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    if (!this.mayDecide(record, from.user)) return { kind: 'not_allowed', words: this.whoMayDecide(record, 'answer the agent’s question') };
    return this.runnerFor({ ...record, sessionId: record.sessionId }).answer(eventId, from);
  }

  private mayDecide(record: ThreadRecord, user: string): boolean {
    return user === record.owner || (this.deps.approversFor?.(record) ?? []).includes(user) || (this.deps.admins ?? []).includes(user);
  }

  private whoMayDecide(record: ThreadRecord, what: string): string {
    // The same sentence as the access guard's, so people read one wording wherever they are refused.
    return refusalWords({
      kind: 'not_allowed_to_decide',
      owner: record.owner,
      approvers: this.deps.approversFor?.(record) ?? [],
      what: what.includes('question') ? 'answer' : 'approve',
    });
  }

  /** A small reaction on the human message, so its author sees it reached the agent. */
  private receipt(ref: ThreadRef, ts: string): Promise<void> {
    return this.receipts.seen(ref.channel, ts);
  }

  async interrupt(ref: ThreadRef, user: string): Promise<InterruptOutcome | { kind: 'not_a_session' }> {
    await this.starting.get(threadKey(ref))?.catch(() => undefined);
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    return this.runnerFor({ ...record, sessionId: record.sessionId }).interrupt(user);
  }

  /**
   * Raise the spend cap of a session stopped at it (the budget card's button). Recorded
   * first (the first press wins), then sent with sessions.update; the session goes on by itself.
   */
  async raiseCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    const cap = record.spendCap;
    if (!cap) return { kind: 'no_cap' };
    return this.runnerFor({ ...record, sessionId: record.sessionId }).raiseCap(stopId, user, { ...record, spendCap: cap });
  }

  /** End a session stopped at its spend cap (the budget card's End): archived, so it runs no more. */
  async endAtCap(ref: ThreadRef, stopId: string, user: string): Promise<CapOutcome> {
    const record = await this.deps.records.get(ref);
    if (!record?.sessionId) return { kind: 'not_a_session' };
    return this.runnerFor({ ...record, sessionId: record.sessionId }).endAtCap(stopId, user, record);
  }

  /** A thread whose session exists or is being created (a failed start is not one: a mention may retry). */
  async isSessionThread(ref: ThreadRef): Promise<boolean> {
    if (this.starting.has(threadKey(ref))) return true;
    const record = await this.deps.records.get(ref);
    // A start cut short by a restart is being recovered: its replies wait for it.
    return record?.sessionId !== undefined || (record?.status === 'starting' && record.sessionRequest !== undefined);
  }

  /** On start-up: every thread that was mid-turn is reopened and caught up. */
  async resumeActive(): Promise<number> {
    const refs = await this.deps.records.activeRefs();
    await Promise.all(
      refs.map((ref) =>
        this.queues.run(threadKey(ref), async () => {
          let record = await this.deps.records.get(ref);
          if (!record) return;
          const log = this.deps.log.child({ team: record.team, channel: record.channel, user: record.owner });
          if (!record.sessionId) {
            // Died between writing the request and the session id: the session may exist.
            if (!record.sessionRequest) {
              await this.failBeforeSession(record, replyWords({ kind: 'restarted_before_session' }));
              return;
            }
            const sessionId = await this.recoverSession({ ...record, sessionRequest: record.sessionRequest }, log);
            if (!sessionId) return;
            record = { ...record, sessionId };
          }
          const runner = this.runnerFor({ ...record, sessionId: record.sessionId! });
          const resumed = await runner.resume();
          if (resumed.kind === 'prompt_unsent') await this.sendPrompt(runner, { ...record, sessionId: record.sessionId! });
        }),
      ),
    );
    if (refs.length > 0) this.deps.log.info({ threads: refs.length }, 'resumed active threads');
    return refs.length;
  }

  /** The session a crashed start asked for: found by its request id, or created now. */
  private async recoverSession(record: ThreadRecord & { sessionRequest: SessionRequest }, log: RunnerDeps['log']): Promise<string | undefined> {
    const request = record.sessionRequest;
    const target: SessionTarget = {
      agentId: request.agentId,
      environmentId: request.environmentId,
      ...(record.agentVersion !== undefined ? { agentVersion: record.agentVersion } : {}),
      ...(record.profile !== undefined ? { profile: record.profile } : {}),
    };
    let found: Awaited<ReturnType<typeof findRequestSessions>>;
    try {
      found = await findRequestSessions(this.deps.client, request);
    } catch (error) {
      const problem = describeApiError(error, 'looking for the session being created');
      log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'could not look for the session of a start cut short');
      await this.failBeforeSession(record, problem.words);
      return undefined;
    }
    const [session, ...extra] = found;
    if (!session) return this.createSession(record, target, log);
    for (const s of extra) {
      await this.deps.client.beta.sessions.archive(s.id).then(
        () => log.warn({ sessionId: s.id, kept: session.id }, 'archived a second session created for the same request'),
        (error: unknown) => log.error({ err: error, sessionId: s.id }, 'could not archive a second session created for the same request'),
      );
    }
    const ref: ThreadRef = { team: record.team, channel: record.channel, threadTs: record.threadTs };
    await this.deps.records.update(ref, (r) => {
      r.sessionId = session.id;
    });
    log.info({ thread: ref.threadTs, sessionId: session.id }, 'session found after a restart and adopted');
    return session.id;
  }

  /** A session a failed create may have left is archived when it shows up (looked for in the background). */
  private sweepOrphans(request: SessionRequest, log: RunnerDeps['log']): void {
    const sweep = archiveOrphans(this.deps.client, request, log, this.deps.orphanSweepDelaysMs ?? [30_000, 5 * 60_000], this.sweeping.signal)
      .catch(() => undefined)
      .finally(() => this.sweeps.delete(sweep));
    this.sweeps.add(sweep);
  }

  /** For tests and shutdown: every runner's Slack writes are done. */
  async settled(): Promise<void> {
    do {
      await Promise.all([...this.runners.values()].map((r) => r.settled()));
      await Promise.all([...this.evictions]);
    } while (this.evictions.size > 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sweeping.abort();
    const grace = delay(this.deps.closeGraceMs ?? 10_000).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.starting.values(), ...this.evictions]), grace]);
    await Promise.all([...this.runners.values()].map((r) => r.close()));
    this.runners.clear();
  }

  private runnerFor(record: ThreadRecord & { sessionId: string }): SessionRunner {
    if (this.closed) throw new Error('bridge closed');
    const key = threadKey(record);
    let runner = this.runners.get(key);
    if (!runner) {
      runner = new SessionRunner(record, this.deps, (quiet) => this.evictLater(key, quiet));
      this.runners.set(key, runner);
    }
    return runner;
  }

  /**
   * A finished thread keeps no runner in memory: the next reply rebuilds its state from
   * the session history. Only a runner still quiet after its writes settle is dropped.
   */
  private evictLater(key: string, runner: SessionRunner): void {
    if (this.evicting.has(runner)) return;
    this.evicting.add(runner);
    const eviction = runner
      .settled()
      .then(async () => {
        if (!runner.quiet || this.runners.get(key) !== runner) return;
        this.runners.delete(key);
        await runner.close();
      })
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'could not release an idle session runner'))
      .finally(() => {
        this.evictions.delete(eviction);
        this.evicting.delete(runner);
      });
    this.evictions.add(eviction);
  }

  /** Runners currently held in memory (live or settling threads). */
  get liveRunners(): number {
    return this.runners.size;
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

  private async failBeforeSession(record: ThreadRecord, words: string): Promise<void> {
    await this.deps.records.update(record, (r) => {
      r.failure = words;
      r.status = 'failed';
    });
    if (record.rootTs) {
      const card = renderRootCard({ owner: record.owner, prompt: record.prompt, profile: record.profile, state: initialState(), failure: words });
      await this.deps.writer.call('chat.update', { channel: record.channel, ts: record.rootTs, ...card });
    }
    await this.deps.writer.postOnce(record.channel, record.threadTs, 'failure', { text: `:warning: ${escapeMrkdwn(words)}` });
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
