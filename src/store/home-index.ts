import { z } from 'zod';
import type Keyv from 'keyv';
import type { HomeSession, HomeTotals } from '../render/home-view.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Mutex } from './mutex.js';
import { DAY_MS } from './retention.js';
import { type HomeProgress, threadKey, type ThreadRecord, type ThreadRecords, type ThreadRef } from './thread-records.js';

/** How many of a person's sessions their index keeps (their running ones are listed besides, from the live set). */
export const RECENT_PER_OWNER = 20;
/** Sessions itemised per workspace and day for the day's totals; a day with more counts only these. */
const DAY_INDEX_MAX = 2000;
/** People who opened the Home tab within this long get its refreshes; at most MAX_VIEWERS per workspace, the latest. */
const VIEWER_KEEP_MS = 7 * DAY_MS;
const MAX_VIEWERS = 500;

const CostSchema = z.object({ amount: z.string(), currency: z.string() });
const MineSchema = z.array(z.object({ key: z.string(), at: z.number() })).catch([]);
/** threadKey → when the session started, its tokens and cost so far. */
const DaySchema = z.record(z.string(), z.object({ at: z.number(), i: z.number(), o: z.number(), c: CostSchema.optional() })).catch({});
/** user → when they last opened the tab. */
const ViewersSchema = z.record(z.string(), z.number()).catch({});

const mineKey = (team: string, owner: string) => `home-mine:${team}:${owner}`;
const dayKey = (team: string, at: number) => `home-day:${team}:${new Date(at).toISOString().slice(0, 10)}`;
const viewersKey = (team: string) => `home-viewers:${team}`;

/** What the board writes for one session: where it is, whose, and what the Home tab shows of it. */
export type HomeEntry = ThreadRef & { owner: string; createdAt: number; progress: HomeProgress };

/**
 * The Home tab's view of the store, so that every replica, and the bot after a restart,
 * renders the same tab. Keyv lists no keys, so next to each thread record's `home` part
 * (state, tokens, cost) there are small index records, each bounded and each with a TTL
 * that the pruner's sweep removes (Redis expires them itself):
 *
 * - `home-mine:<team>:<owner>`: the person's newest RECENT_PER_OWNER sessions (kept for
 *   the record retention, renewed at each write); their running ones come from the live set;
 * - `home-day:<team>:<date>`: the sessions started that UTC day with their tokens and cost,
 *   for the last day's totals without reading every record (kept two days);
 * - `home-viewers:<team>`: who opened the tab lately, so whichever replica sees a session
 *   change state can refresh the tabs that show it.
 */
export class HomeIndex {
  private readonly mutex: Mutex;
  private readonly now: () => number;

  constructor(
    private readonly kv: Keyv,
    private readonly records: ThreadRecords,
    o: { mutex?: Mutex; now?: () => number } = {},
  ) {
    this.mutex = o.mutex ?? new KeyedMutex();
    this.now = o.now ?? Date.now;
  }

  /**
   * Writes a session's state and usage into its thread record and the indexes. Returns the
   * state the store had before (undefined: none yet), so the caller knows whether the tabs
   * that show it are due.
   */
  async write(entry: HomeEntry): Promise<{ before: HomeProgress['state'] | undefined }> {
    let before: HomeProgress | undefined;
    await this.records.update(entry, (r) => {
      before = r.home;
      r.home = entry.progress;
    });
    const key = threadKey(entry);
    if (before?.state !== entry.progress.state) {
      await this.edit(mineKey(entry.team, entry.owner), MineSchema, this.records.retentionMs, (list) => {
        if (list.some((e) => e.key === key)) return list;
        return [{ key, at: entry.createdAt }, ...list].sort((a, b) => b.at - a.at).slice(0, RECENT_PER_OWNER);
      });
    }
    const { inputTokens: i, outputTokens: o, cost: c } = entry.progress;
    if (before === undefined || before.inputTokens !== i || before.outputTokens !== o || before.cost?.amount !== c?.amount) {
      await this.edit(dayKey(entry.team, entry.createdAt), DaySchema, 2 * DAY_MS, (day) => {
        if (!(key in day) && Object.keys(day).length >= DAY_INDEX_MAX) return day;
        return { ...day, [key]: { at: entry.createdAt, i, o, ...(c ? { c } : {}) } };
      });
    }
    return { before: before?.state };
  }

  /** A person's sessions in a workspace, running and recent, newest first. */
  async mine(team: string, owner: string): Promise<HomeSession[]> {
    const listed = MineSchema.parse((await this.kv.get(mineKey(team, owner))) ?? []);
    const keys = new Set([...(await this.records.activeRefsOf(team, owner)).map(threadKey), ...listed.map((e) => e.key)]);
    return this.sessions([...keys]);
  }

  /** Every running session in a workspace, newest first. */
  async running(team: string): Promise<HomeSession[]> {
    const live = (await this.records.activeRefs()).filter((r) => r.team === team).map(threadKey);
    return (await this.sessions(live)).filter((s) => RUNNING.has(s.state));
  }

  /** Sessions started in the last day in a workspace, their tokens and cost. */
  async today(team: string): Promise<HomeTotals> {
    const now = this.now();
    const since = now - DAY_MS;
    let sessions = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    let amount = 0;
    let priced = false;
    const days = new Set([dayKey(team, since), dayKey(team, now)]);
    for (const key of days) {
      for (const s of Object.values(DaySchema.parse((await this.kv.get(key)) ?? {}))) {
        if (s.at < since) continue;
        sessions += 1;
        inputTokens += s.i;
        outputTokens += s.o;
        if (s.c?.currency === 'USD' && Number.isFinite(Number(s.c.amount))) {
          amount += Number(s.c.amount);
          priced = true;
        }
      }
    }
    return { sessions, inputTokens, outputTokens, ...(priced ? { cost: { amount: String(amount), currency: 'USD' } } : {}) };
  }

  /** The person opened the Home tab. */
  async viewed(team: string, user: string): Promise<void> {
    const now = this.now();
    await this.edit(viewersKey(team), ViewersSchema, VIEWER_KEEP_MS, (viewers) => {
      const kept = Object.entries({ ...viewers, [user]: now })
        .filter(([, at]) => now - at <= VIEWER_KEEP_MS)
        .sort(([, a], [, b]) => b - a)
        .slice(0, MAX_VIEWERS);
      return Object.fromEntries(kept);
    });
  }

  /** Who opened the Home tab in a workspace lately. */
  async viewers(team: string): Promise<string[]> {
    const now = this.now();
    const viewers = ViewersSchema.parse((await this.kv.get(viewersKey(team))) ?? {});
    return Object.entries(viewers).flatMap(([user, at]) => (now - at <= VIEWER_KEEP_MS ? [user] : []));
  }

  private async sessions(keys: readonly string[]): Promise<HomeSession[]> {
    const found = await Promise.all(
      keys.map(async (key) => {
        const ref = refOfKey(key);
        return ref ? this.records.get(ref).catch(() => undefined) : undefined;
      }),
    );
    return found.flatMap((r) => (r ? [sessionOf(r)] : [])).sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Read-modify-write of one index record under its lock, with its TTL renewed. */
  private async edit<T>(key: string, schema: z.ZodType<T>, ttlMs: number, change: (value: T) => T): Promise<void> {
    await this.mutex.run(key, async () => {
      const current = schema.parse(await this.kv.get(key));
      await this.kv.set(key, change(current), ttlMs);
    });
  }
}

const RUNNING = new Set<HomeProgress['state']>(['starting', 'running', 'waiting', 'stopping']);

/** A record as mission control lists it; one no runner has folded yet reads its state from the record's status. */
function sessionOf(r: ThreadRecord): HomeSession {
  const progress: HomeProgress = r.home ?? { state: stateOfStatus(r), inputTokens: 0, outputTokens: 0 };
  // A runner stopped between its last fold and the record's end (a crash, a hand-over) left
  // a running state behind: the record's status is the later word on whether it runs.
  const live = r.status === 'starting' || r.status === 'active';
  const state = live || !RUNNING.has(progress.state) ? progress.state : stateOfStatus(r);
  return {
    team: r.team,
    channel: r.channel,
    threadTs: r.threadTs,
    owner: r.owner,
    prompt: r.prompt,
    state,
    startedAt: r.createdAt,
    inputTokens: progress.inputTokens,
    outputTokens: progress.outputTokens,
    ...(progress.cost ? { cost: progress.cost } : {}),
  };
}

function stateOfStatus(r: ThreadRecord): HomeProgress['state'] {
  switch (r.status) {
    case 'starting':
      return 'starting';
    case 'active':
      return 'running';
    case 'idle':
      return 'idle';
    case 'ended':
      return 'ended';
    case 'failed':
      return 'failed';
  }
}

function refOfKey(key: string): ThreadRef | undefined {
  const [team, channel, threadTs, ...rest] = key.split(':');
  return team && channel && threadTs && rest.length === 0 ? { team, channel, threadTs } : undefined;
}
