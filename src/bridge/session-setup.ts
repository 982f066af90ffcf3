import { randomUUID } from 'node:crypto';
import type { SlackWriter } from '../delivery/slack-writer.js';
import { budgetParam } from '../access/spend-cap.js';
import { describeApiError } from '../agents/api-errors.js';
import { archiveOrphans, createSessionOnce, findRequestSessions, type SessionRequest } from '../agents/create-session.js';
import type { SessionTarget } from '../agents/profiles.js';
import { renderRootCard } from '../render/root-card.js';
import { escapeMrkdwn } from '../render/sanitize.js';
import type { ThreadRecord, ThreadRef } from '../store/thread-records.js';
import type { BridgeDeps, BridgeLog } from './bridge-deps.js';
import { initialState } from './thread-state.js';

/** The Slack writes setup makes when a start fails before its session: the root card's edit and the failure note. */
export type SetupWriter = Pick<SlackWriter, 'call' | 'postOnce'>;

export type SessionSetupDeps = Pick<BridgeDeps, 'client' | 'records' | 'sessionAgents' | 'spendCapFor' | 'orphanSweepDelaysMs'> & {
  writer: SetupWriter;
};

/**
 * A thread's session, made once: created with the request id the record holds, found
 * again after a crash, and a failure before there is a session told in the thread.
 */
export class SessionSetup {
  /** Background look-ups for sessions a failed create may have left; cut short on close. */
  private readonly sweeps = new Set<Promise<unknown>>();
  private readonly sweeping = new AbortController();

  constructor(private readonly deps: SessionSetupDeps) {}

  /** Cuts the background look-ups short. */
  close(): void {
    this.sweeping.abort();
  }

  /**
   * `sessions.create` once per thread: the request id in the record (written before
   * this call) is also put in the session's metadata, so an answer lost to a 5xx, a
   * dropped connection or a crash leads to the session that was made, not a second one.
   * Returns the session id, or undefined after telling the thread why there is none.
   */
  async create(record: ThreadRecord, target: SessionTarget, log: BridgeLog): Promise<string | undefined> {
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

  /** The session a crashed start asked for: found by its request id, or created now. */
  async recover(record: ThreadRecord & { sessionRequest: SessionRequest }, log: BridgeLog): Promise<string | undefined> {
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
    if (!session) return this.create(record, target, log);
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

  /** The thread has no session and will not get one: the record, the root card and a line in the thread say why. */
  async failBeforeSession(record: ThreadRecord, words: string): Promise<void> {
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

  /** A session a failed create may have left is archived when it shows up (looked for in the background). */
  private sweepOrphans(request: SessionRequest, log: BridgeLog): void {
    const sweep = archiveOrphans(this.deps.client, request, log, this.deps.orphanSweepDelaysMs ?? [30_000, 5 * 60_000], this.sweeping.signal)
      .catch(() => undefined)
      .finally(() => this.sweeps.delete(sweep));
    this.sweeps.add(sweep);
  }
}
