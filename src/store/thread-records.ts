import { z } from 'zod';
import type Keyv from 'keyv';
import { hashText } from '../delivery/text-hash.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Mutex } from './mutex.js';
import { DAY_MS, DEFAULT_RETENTION_DAYS, isPrunable } from './retention.js';
import { storeKeys } from './store-keys.js';

export const ThreadRefSchema = z.object({
  team: z.string(),
  channel: z.string(),
  threadTs: z.string(),
});
export type ThreadRef = z.infer<typeof ThreadRefSchema>;

export const threadKey = (ref: ThreadRef): string => `${ref.team}:${ref.channel}:${ref.threadTs}`;

const PostedSchema = z.object({ ts: z.string(), hash: z.string() });
export type Posted = z.infer<typeof PostedSchema>;

/**
 * One Slack message carrying part of a text block. Only the length and a hash of its words
 * are kept (the words are in the session's history), so a record does not grow with
 * every word the agent writes. Records written before this kept the text itself: it is
 * read into its length and hash.
 */
const SegmentSchema = z.preprocess(
  (raw) => {
    if (!raw || typeof raw !== 'object' || !('text' in raw) || typeof (raw as { text: unknown }).text !== 'string') return raw;
    const { text, ...rest } = raw as { text: string };
    return { ...rest, length: text.length, hash: hashText(text) };
  },
  z.object({
    ts: z.string(),
    mode: z.enum(['stream', 'post', 'file']),
    /** Characters of the block's text this message carries (decorations excluded). */
    length: z.number().int().nonnegative(),
    /** hashText of those characters; '' when the message's words are not known (rewritten next). */
    hash: z.string(),
    prefix: z.string(),
    closed: z.boolean(),
    startedAt: z.number(),
    lastWriteAt: z.number(),
  }),
);

/**
 * A text write in flight that Slack gives no key for, written before the call: a crash
 * or an unknown outcome is settled from it by looking in the thread (a stream started
 * after `afterTs`, an append that may have landed, a reserved file that may be shared).
 */
const WritingSchema = z.object({
  key: z.string(),
  segment: z.number().int().nonnegative(),
  kind: z.enum(['start_stream', 'append', 'stop', 'attach']),
  /** start_stream: the newest message of the thread the record knew before the call. */
  afterTs: z.string().optional(),
  /** attach: the Slack file id reserved for the long answer, before it is shared. */
  fileId: z.string().optional(),
});
export type Writing = z.infer<typeof WritingSchema>;

/**
 * One file the agent wrote, by Files API id. `reserved`: bytes are at Slack under
 * `slackFileId` but the file may not be shared yet (a crash here is settled by looking
 * for that id in the thread); `shared`: in the thread; `skipped`: only listed (too large,
 * over the count, or not downloadable).
 */
const OutputSchema = z.object({
  name: z.string(),
  state: z.enum(['reserved', 'shared', 'skipped']),
  slackFileId: z.string().optional(),
});
export type OutputRecord = z.infer<typeof OutputSchema>;

const NoticeSchema = z.object({ key: z.string(), text: z.string(), afterItems: z.number() });
export type Notice = z.infer<typeof NoticeSchema>;

const DecisionSchema = z.object({
  user: z.string(),
  result: z.enum(['allow', 'deny']),
  reason: z.string().optional(),
  at: z.number(),
});
export type Decision = z.infer<typeof DecisionSchema>;

const BudgetActionSchema = z.object({ user: z.string(), action: z.enum(['raise', 'end']), toCents: z.number().optional(), at: z.number() });
export type BudgetAction = z.infer<typeof BudgetActionSchema>;

/** An image or document block of a Files API file, as a message or tool result carries it. */
const FileBlockSchema = z.union([
  z.object({ type: z.literal('image'), source: z.object({ type: z.literal('file'), file_id: z.string() }) }),
  z.object({ type: z.literal('document'), source: z.object({ type: z.literal('file'), file_id: z.string() }), title: z.string().optional() }),
]);

/** What the agent gets for a person's message: their words with where the files are, and the file blocks. */
const PreparedInputSchema = z.object({ text: z.string(), blocks: z.array(FileBlockSchema) });
export type PreparedInput = z.infer<typeof PreparedInputSchema>;

const AnswerSchema = z.object({
  user: z.string(),
  text: z.string(),
  at: z.number(),
  /** Files shared with a reply that answered the question: they go with the answer. */
  attachments: PreparedInputSchema.optional(),
});
export type Answer = z.infer<typeof AnswerSchema>;

const CostSchema = z.object({ amount: z.string(), currency: z.string() });

const HomeProgressSchema = z.object({
  state: z.enum(['starting', 'running', 'waiting', 'stopping', 'idle', 'ended', 'failed']),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cost: CostSchema.optional(),
});
export type HomeProgress = z.infer<typeof HomeProgressSchema>;

/**
 * Everything about one thread that is not in the session's own event history:
 * who owns it, where its messages are, and what has already been posted (so a
 * restart renders the difference, never the whole thread again).
 */
export const ThreadRecordSchema = ThreadRefSchema.extend({
  v: z.literal(1),
  owner: z.string(),
  prompt: z.string(),
  /** The human message that started the session (mention/DM), if any. */
  promptTs: z.string().optional(),
  rootTs: z.string().optional(),
  sessionId: z.string().optional(),
  /** The agent profile the session runs (only with a profiles file) and the agent version it is pinned to. */
  profile: z.string().optional(),
  agentVersion: z.number().int().optional(),
  /** 'starting' until the first user.message is accepted by the API. */
  status: z.enum(['starting', 'active', 'idle', 'ended', 'failed']),
  /** A problem the bridge itself hit (API error), shown on the status line. */
  failure: z.string().optional(),
  createdAt: z.number(),
  /** Last write of this record (absent in records from before pruning): its age decides pruning. */
  updatedAt: z.number().optional(),
  posted: z.record(z.string(), PostedSchema).default({}),
  /** Text blocks: the Slack messages (streams or posts) carrying each block's words. */
  segments: z.record(z.string(), z.array(SegmentSchema)).default({}),
  notices: z.array(NoticeSchema).default([]),
  /** interrupt event id → Slack user who asked for it */
  interrupts: z.record(z.string(), z.string()).default({}),
  /** user.message event id → the Slack message that carried it */
  sentMessages: z.record(z.string(), z.object({ user: z.string(), ts: z.string().optional() })).default({}),
  /** Tool confirmations decided by people (tool_use event id → who, what, when), written before they are sent. */
  decisions: z.record(z.string(), DecisionSchema).default({}),
  /** ask_user answers (custom_tool_use event id → who answered what), written before the tool result is sent. */
  answers: z.record(z.string(), AnswerSchema).default({}),
  /**
   * The create request for this thread's session, written before `sessions.create` and
   * carried in the session's metadata: after an unknown outcome or a crash, the session
   * is looked up by it instead of created twice.
   */
  sessionRequest: z.object({ id: z.string(), agentId: z.string(), environmentId: z.string(), at: z.number() }).optional(),
  /** Files shared with the prompt, so a restart before the prompt was sent sends it with them. */
  promptFiles: z
    .array(z.object({ id: z.string(), name: z.string(), mimetype: z.string(), size: z.number(), downloadUrl: z.string().optional() }))
    .optional(),
  /** The prompt as prepared for the agent (files uploaded), kept until it is sent so a restart does not upload them again. */
  promptInput: PreparedInputSchema.optional(),
  /** Files the agent wrote and what became of them (absent in records from before files). */
  outputs: z.record(z.string(), OutputSchema).optional(),
  /** People the owner or an admin let steer this session (`@agent let @dana steer`). */
  steerers: z.array(z.string()).optional(),
  /** People already told privately that their replies do not reach the agent (told once per thread). */
  toldNotSteering: z.array(z.string()).optional(),
  /** The spend cap the session was created with, its ceiling for raises, and the cap now (cents). */
  spendCap: z.object({ startCents: z.number(), maxCents: z.number(), currentCents: z.number() }).optional(),
  /** What people did at each budget stop (idle event id → raised or ended, by whom), written before it is sent. */
  budgetActions: z.record(z.string(), BudgetActionSchema).optional(),
  /** Slack feedback buttons clicked on finished answers (`<turn>:<user>` → the latest click and its note). */
  feedback: z
    .record(z.string(), z.object({ user: z.string(), turn: z.number(), good: z.boolean(), at: z.number(), note: z.string().optional() }))
    .optional(),
  /**
   * What the Home tab shows of the session, written as it changes (its state as mission
   * control names it, tokens and cost so far): any replica, and the bot after a restart,
   * renders the Home tab from it. Absent until the session's runner first folded.
   */
  home: HomeProgressSchema.optional(),
  /**
   * Slack has an agent session for this thread (agents.sessions.setStatus) that was not
   * closed yet: the bot after a restart, or a replica taking over, closes it when it finds
   * the session ended, instead of leaving Slack's "working…" row up.
   */
  nativeOpen: z.literal(true).optional(),
  /** The text write in flight, if any (see WritingSchema). */
  writing: WritingSchema.optional(),
});
export type ThreadRecord = z.infer<typeof ThreadRecordSchema>;

/** What a thread record keeps of its thread's history, empty: a new record starts from these. */
export function emptyHistory(): Pick<ThreadRecord, 'posted' | 'segments' | 'notices' | 'interrupts' | 'sentMessages' | 'decisions' | 'answers'> {
  return { posted: {}, segments: {}, notices: [], interrupts: {}, sentMessages: {}, decisions: {}, answers: {} };
}

const ACTIVE_KEY = 'active-threads';
const ownerKey = (team: string, owner: string): string => `active-threads-of:${team}:${owner}`;
const PENDING_STARTS_KEY = 'pending-starts';

/**
 * A request to start a session, written before its root card is posted: a crash between
 * the post and the thread record is settled at the next start by finding the card by
 * its key (`root:<id>`) instead of dropping the request or posting a second card.
 */
const PendingStartSchema = z.object({
  id: z.string(),
  at: z.number(),
  request: z.record(z.string(), z.unknown()),
  /** The replica making the start (several replicas): another finishes it only once that one is gone. */
  by: z.string().optional(),
  /**
   * Stored as Slack's request came in, before the access rules were checked (`/agent`
   * is stored before its ack): a restart that finds it checks them before it starts.
   */
  unchecked: z.literal(true).optional(),
});
export type PendingStart = z.infer<typeof PendingStartSchema>;

const PENDING_CLICKS_KEY = 'pending-clicks';

/**
 * A click (or the deny dialog's submit) written before it is acked and removed once it
 * was carried out: one a kill cut short is found at the next start-up and its person told.
 */
const PendingClickSchema = z.object({
  id: z.string(),
  at: z.number(),
  what: z.enum(['stop', 'approve', 'deny', 'answer', 'raise', 'end']),
  user: z.string(),
  channel: z.string(),
  threadTs: z.string().optional(),
  /** The team and the thread's tool call (`eventId`) when the click names one: its outcome may be in the record. */
  team: z.string().optional(),
  eventId: z.string().optional(),
  /** The replica taking it (several replicas): another tells of it only once that one is gone. */
  by: z.string().optional(),
});
export type PendingClick = z.infer<typeof PendingClickSchema>;

const PENDING_STEERS_KEY = 'pending-steers';

/**
 * A reply in a session thread, written before its event is acked and removed once it was
 * handed to the session (or refused): one a kill cut short is carried out at the next start-up.
 */
const PendingSteerSchema = z.object({
  id: z.string(),
  at: z.number(),
  team: z.string(),
  channel: z.string(),
  threadTs: z.string(),
  user: z.string(),
  text: z.string(),
  ts: z.string(),
  /** Files shared with the reply, kept as Slack sent them. */
  files: z.array(z.unknown()).optional(),
  /** The replica taking it (several replicas): another carries it out only once that one is gone. */
  by: z.string().optional(),
});
export type PendingSteer = z.infer<typeof PendingSteerSchema>;

export type ThreadRecordsOptions = {
  /** How long the record of a session that stopped running is kept (RECORD_RETENTION_DAYS). */
  retentionMs?: number;
  now?: () => number;
  /**
   * The lock each read-modify-write of a record (and of the live and pending lists) runs
   * under. Keyv has no transactions; this process's own lock by default, Redis's when
   * several replicas share the store.
   */
  mutex?: Mutex;
};

export type PruneOutcome = { removed: number; kept: number };

export class ThreadRecords {
  private readonly mutex: Mutex;
  readonly retentionMs: number;
  private readonly now: () => number;

  constructor(
    private readonly kv: Keyv,
    o: ThreadRecordsOptions = {},
  ) {
    this.retentionMs = o.retentionMs ?? DEFAULT_RETENTION_DAYS * DAY_MS;
    this.now = o.now ?? Date.now;
    this.mutex = o.mutex ?? new KeyedMutex();
  }

  async get(ref: ThreadRef): Promise<ThreadRecord | undefined> {
    const raw = await this.kv.get(`thread:${threadKey(ref)}`);
    if (raw === undefined) return undefined;
    const parsed = ThreadRecordSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`stored thread record ${threadKey(ref)} is unreadable: ${parsed.error.message}`);
    return parsed.data;
  }

  async create(record: ThreadRecord): Promise<void> {
    await this.mutex.run(threadKey(record), async () => {
      await this.kv.set(`thread:${threadKey(record)}`, { ...record, updatedAt: this.now() });
    });
    await this.setActive(record, true);
  }

  /** Read-modify-write under the per-thread lock; returns the record as written. */
  async update(ref: ThreadRef, change: (r: ThreadRecord) => void): Promise<ThreadRecord> {
    let statusChanged = false;
    const written = await this.mutex.run(threadKey(ref), async () => {
      const current = await this.get(ref);
      if (!current) throw new Error(`no thread record for ${threadKey(ref)}`);
      const next = structuredClone(current);
      change(next);
      next.updatedAt = this.now();
      statusChanged = next.status !== current.status;
      await this.kv.set(`thread:${threadKey(ref)}`, next);
      return next;
    });
    if (statusChanged) await this.setActive(written, written.status === 'starting' || written.status === 'active');
    return written;
  }

  /** Threads that were mid-turn: on start-up their streams are reopened and caught up. */
  async activeRefs(): Promise<ThreadRef[]> {
    const keys = z
      .array(z.string())
      .catch([])
      .parse((await this.kv.get(ACTIVE_KEY)) ?? []);
    return keys.flatMap((k) => {
      const [team, channel, threadTs] = k.split(':');
      return team && channel && threadTs ? [{ team, channel, threadTs }] : [];
    });
  }

  /** Live threads of one person, so counting someone's running sessions reads only theirs. */
  async activeRefsOf(team: string, owner: string): Promise<ThreadRef[]> {
    const keys = z
      .array(z.string())
      .catch([])
      .parse((await this.kv.get(ownerKey(team, owner))) ?? []);
    return keys.flatMap((k) => refOfKey(k) ?? []);
  }

  /** Keeps the live set (and, when the owner is known, that person's live set) in step with a record's status. */
  private async setActive(ref: ThreadRef & { owner?: string }, live: boolean): Promise<void> {
    await this.mutex.run(ACTIVE_KEY, async () => {
      const key = threadKey(ref);
      for (const listKey of [ACTIVE_KEY, ...(ref.owner ? [ownerKey(ref.team, ref.owner)] : [])]) {
        const keys = new Set(
          z
            .array(z.string())
            .catch([])
            .parse((await this.kv.get(listKey)) ?? []),
        );
        if (live === keys.has(key)) continue;
        if (live) keys.add(key);
        else keys.delete(key);
        if (keys.size === 0 && listKey !== ACTIVE_KEY) await this.kv.delete(listKey);
        else await this.kv.set(listKey, [...keys]);
      }
    });
  }

  async addPendingStart(start: PendingStart): Promise<void> {
    await this.kv.set(`start:${start.id}`, start);
    await this.editPendingStarts((ids) => ids.add(start.id));
  }

  async removePendingStart(id: string): Promise<void> {
    await this.editPendingStarts((ids) => ids.delete(id));
    await this.kv.delete(`start:${id}`);
  }

  /** Starts whose root card may have been posted but whose thread record was never written. */
  async pendingStarts(): Promise<PendingStart[]> {
    const ids = z
      .array(z.string())
      .catch([])
      .parse((await this.kv.get(PENDING_STARTS_KEY)) ?? []);
    const found = await Promise.all(ids.map(async (id) => PendingStartSchema.safeParse(await this.kv.get(`start:${id}`))));
    return found.flatMap((p) => (p.success ? [p.data] : []));
  }

  private async editPendingStarts(change: (ids: Set<string>) => void): Promise<void> {
    await this.editIdList(PENDING_STARTS_KEY, change);
  }

  private async editIdList(listKey: string, change: (ids: Set<string>) => void): Promise<void> {
    await this.mutex.run(listKey, async () => {
      const ids = new Set(
        z
          .array(z.string())
          .catch([])
          .parse((await this.kv.get(listKey)) ?? []),
      );
      change(ids);
      await this.kv.set(listKey, [...ids]);
    });
  }

  async addPendingClick(click: PendingClick): Promise<void> {
    await this.kv.set(`click:${click.id}`, click, this.retentionMs);
    await this.editIdList(PENDING_CLICKS_KEY, (ids) => ids.add(click.id));
  }

  async removePendingClick(id: string): Promise<void> {
    await this.editIdList(PENDING_CLICKS_KEY, (ids) => ids.delete(id));
    await this.kv.delete(`click:${id}`);
  }

  async addPendingSteer(steer: PendingSteer): Promise<void> {
    await this.kv.set(`steer:${steer.id}`, steer, this.retentionMs);
    await this.editIdList(PENDING_STEERS_KEY, (ids) => ids.add(steer.id));
  }

  async removePendingSteer(id: string): Promise<void> {
    await this.editIdList(PENDING_STEERS_KEY, (ids) => ids.delete(id));
    await this.kv.delete(`steer:${id}`);
  }

  /** Replies acked and not yet handed to their session (a kill cut them short, or they are being handed on now). */
  async pendingSteers(): Promise<PendingSteer[]> {
    const ids = z
      .array(z.string())
      .catch([])
      .parse((await this.kv.get(PENDING_STEERS_KEY)) ?? []);
    const found = await Promise.all(ids.map(async (id) => ({ id, read: PendingSteerSchema.safeParse(await this.kv.get(`steer:${id}`)) })));
    for (const f of found) if (!f.read.success) await this.removePendingSteer(f.id);
    return found.flatMap((f) => (f.read.success ? [f.read.data] : []));
  }

  /** Clicks acked and not known to be carried out (a kill cut them short, or they are being carried out now). */
  async pendingClicks(): Promise<PendingClick[]> {
    const ids = z
      .array(z.string())
      .catch([])
      .parse((await this.kv.get(PENDING_CLICKS_KEY)) ?? []);
    const found = await Promise.all(ids.map(async (id) => ({ id, read: PendingClickSchema.safeParse(await this.kv.get(`click:${id}`)) })));
    // One whose record is gone (expired or unreadable) leaves the list.
    for (const f of found) if (!f.read.success) await this.removePendingClick(f.id);
    return found.flatMap((f) => (f.read.success ? [f.read.data] : []));
  }

  /**
   * Any message of a thread (ours or a human's) → the thread, for reactions (which carry no
   * thread_ts). Kept as long as the record of a session that stopped with it; in a thread
   * that runs longer, a reaction on an older message finds its thread through Slack
   * (conversations.replies) instead.
   */
  async indexMessage(ref: ThreadRef, ts: string): Promise<void> {
    await this.kv.set(`ts:${ref.team}:${ref.channel}:${ts}`, ref.threadTs, this.retentionMs);
  }

  async threadOfMessage(team: string, channel: string, ts: string): Promise<ThreadRef | undefined> {
    const threadTs = await this.kv.get(`ts:${team}:${channel}:${ts}`);
    return typeof threadTs === 'string' ? { team, channel, threadTs } : undefined;
  }

  /**
   * Removes the records of sessions that have not run for the retention time (isPrunable).
   * Each leaves a marker for as long again, so a reply in that thread can be told why
   * nothing answers. Records are checked again under their lock: one that was just
   * written to is kept.
   */
  async prune(now = this.now()): Promise<PruneOutcome> {
    const outcome: PruneOutcome = { removed: 0, kept: 0 };
    const keys: string[] = [];
    for await (const key of storeKeys(this.kv, 'thread:')) keys.push(key);
    for (const key of keys) {
      const ref = refOfKey(key.slice('thread:'.length));
      if (!ref) continue;
      const removed = await this.mutex.run(threadKey(ref), async () => {
        const parsed = ThreadRecordSchema.safeParse(await this.kv.get(key));
        // An unreadable record is left for a person to look at, not deleted unseen.
        if (!parsed.success || !isPrunable(parsed.data, now, this.retentionMs)) return undefined;
        await this.kv.set(`pruned:${threadKey(ref)}`, parsed.data.updatedAt ?? parsed.data.createdAt, this.retentionMs);
        await this.kv.delete(key);
        return parsed.data;
      });
      if (removed) await this.setActive(removed, false);
      if (removed) outcome.removed += 1;
      else outcome.kept += 1;
    }
    return outcome;
  }

  /** The thread had a session whose record was pruned (for another retention time after). */
  async wasPruned(ref: ThreadRef): Promise<boolean> {
    return (await this.kv.get(`pruned:${threadKey(ref)}`)) !== undefined;
  }
}

function refOfKey(key: string): ThreadRef | undefined {
  const [team, channel, threadTs, ...rest] = key.split(':');
  return team && channel && threadTs && rest.length === 0 ? { team, channel, threadTs } : undefined;
}
