import type { AgentsClient } from './client.js';
import type { Logger } from '../ops/logger.js';
import { delay } from '../ops/delay.js';
import { outcomeUnknown, sendOnce } from './send-once.js';

type SessionsApi = AgentsClient['beta']['sessions'];
export type SessionCreateBody = Omit<Parameters<SessionsApi['create']>[0], 'betas'>;
export type Session = Awaited<ReturnType<SessionsApi['create']>>;

/** Session metadata key holding the id of the request that created it. */
const REQUEST_METADATA_KEY = 'slack_request';

/**
 * One `/agent` (or mention) asking for one session: the id is written to the thread
 * record before the create call and into the session's metadata, so a create whose
 * answer was lost can be found again instead of made twice.
 */
export type SessionRequest = { id: string; agentId: string; environmentId: string; at: number };

/** `mayExist`: some attempt's outcome stayed unknown, so a session of the request may be out there. */
export type CreateOutcome = { kind: 'created'; session: Session; adopted: boolean } | { kind: 'failed'; error: unknown; mayExist: boolean };

/**
 * How far before our own clock a session may be stamped by the API's. The list filter
 * only narrows the search; the metadata decides.
 */
const CLOCK_SLACK_MS = 10 * 60_000;

/**
 * `sessions.create` exactly once for a request. An attempt whose outcome is unknown
 * (5xx, timeout, dropped connection) is looked up by its metadata before another is
 * made; if a look-up missed a session that did land and a second one was created,
 * every session of the request but the one adopted is archived.
 */
export async function createSessionOnce(
  client: AgentsClient,
  body: SessionCreateBody,
  request: SessionRequest,
  log: Logger,
  signal?: AbortSignal,
): Promise<CreateOutcome> {
  const params = { ...body, metadata: { ...body.metadata, [REQUEST_METADATA_KEY]: request.id } };
  let tries = 0;
  let mayExist = false;
  const outcome = await sendOnce({
    attempt: async () => {
      tries += 1;
      try {
        return await client.beta.sessions.create(params, { maxRetries: 0, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (outcomeUnknown(error)) mayExist = true;
        throw error;
      }
    },
    lookup: async () => (await findRequestSessions(client, request))[0],
    ...(signal ? { signal } : {}),
  });
  if (outcome.kind === 'failed') return { ...outcome, mayExist };
  const session = outcome.value;
  if (tries > 1) await archiveOthers(client, request, session.id, log);
  return { kind: 'created', session, adopted: outcome.kind === 'found' };
}

/** Sessions created for this request, oldest first (normally none or one). */
export async function findRequestSessions(client: AgentsClient, request: SessionRequest): Promise<Session[]> {
  const found: Session[] = [];
  const since = new Date(request.at - CLOCK_SLACK_MS).toISOString();
  // The API cannot filter on metadata: the agent and the creation time narrow the list.
  for await (const s of client.beta.sessions.list(
    { agent_id: request.agentId, 'created_at[gte]': since, order: 'asc', limit: 100 },
    { maxRetries: 0 },
  )) {
    if (s.metadata?.[REQUEST_METADATA_KEY] === request.id) found.push(s);
  }
  return found;
}

/**
 * After a create that failed with its outcome unknown (the look-ups failed too), the
 * thread was told there is no session; one may exist all the same. It is looked for
 * again after each wait and archived when found: nobody will use it.
 */
export async function archiveOrphans(
  client: AgentsClient,
  request: SessionRequest,
  log: Logger,
  waitsMs: readonly number[],
  signal: AbortSignal,
): Promise<void> {
  for (const wait of waitsMs) {
    await delay(wait, signal);
    let found: Session[];
    try {
      found = await findRequestSessions(client, request);
    } catch (error) {
      log.warn({ err: error, requestId: request.id }, 'could not look for a session left by a failed create; trying later');
      continue;
    }
    for (const s of found) {
      await client.beta.sessions.archive(s.id, {}, { maxRetries: 0 }).then(
        () => log.warn({ sessionId: s.id, requestId: request.id }, 'archived a session whose create had looked failed'),
        (error: unknown) => log.error({ err: error, sessionId: s.id }, 'could not archive a session whose create had looked failed'),
      );
    }
    return;
  }
}

async function archiveOthers(client: AgentsClient, request: SessionRequest, keep: string, log: Logger): Promise<void> {
  let others: Session[];
  try {
    others = (await findRequestSessions(client, request)).filter((s) => s.id !== keep);
  } catch (error) {
    return void log.warn({ err: error, requestId: request.id }, 'could not check for a second session of the same request');
  }
  for (const s of others) {
    try {
      await client.beta.sessions.archive(s.id);
      log.warn({ sessionId: s.id, kept: keep, requestId: request.id }, 'archived a second session created for the same request');
    } catch (error) {
      log.error({ err: error, sessionId: s.id, kept: keep }, 'could not archive a second session created for the same request');
    }
  }
}
