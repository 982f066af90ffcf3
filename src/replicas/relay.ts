import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { delay } from '../ops/delay.js';
import type { Logger } from '../ops/logger.js';
import type { Redis } from '../store/redis/connection.js';
import { threadKey, type ThreadRef, ThreadRefSchema } from '../store/thread-records.js';

const SharedFileSchema = z.object({
  id: z.string(),
  name: z.string(),
  mimetype: z.string(),
  size: z.number(),
  downloadUrl: z.string().optional(),
});

/** The intents a replica may carry out for a thread another replica follows. */
const RelayedIntentSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('steer'),
    ref: ThreadRefSchema,
    msg: z.object({ user: z.string(), text: z.string(), ts: z.string(), files: z.array(SharedFileSchema).optional() }),
  }),
  z.object({ kind: z.literal('interrupt'), ref: ThreadRefSchema, user: z.string() }),
  z.object({
    kind: z.literal('decide'),
    ref: ThreadRefSchema,
    eventId: z.string(),
    decision: z.object({ user: z.string(), result: z.enum(['allow', 'deny']), reason: z.string().optional() }),
  }),
  z.object({
    kind: z.literal('answer'),
    ref: ThreadRefSchema,
    eventId: z.string(),
    from: z.object({ user: z.string(), text: z.string(), choice: z.number().optional() }),
  }),
  z.object({ kind: z.literal('has_open_question'), ref: ThreadRefSchema }),
  z.object({ kind: z.literal('raise_cap'), ref: ThreadRefSchema, stopId: z.string(), user: z.string() }),
  z.object({ kind: z.literal('end_at_cap'), ref: ThreadRefSchema, stopId: z.string(), user: z.string() }),
]);
export type RelayedIntent = z.infer<typeof RelayedIntentSchema>;

/** A relayed intent as it waits in its thread's list: who stored it (where its answer goes) and its id. */
const StoredIntentSchema = z.object({ id: z.string(), from: z.string(), intent: RelayedIntentSchema });
type StoredIntent = z.infer<typeof StoredIntentSchema>;

const ServedSchema = z.discriminatedUnion('kind', [
  // The outcome is the holder's bridge's own answer (a `{ kind }` value or a steer outcome), passed on as it is.
  z.object({ kind: z.literal('served'), outcome: z.unknown() }),
  z.object({ kind: z.literal('not_holder') }),
  z.object({ kind: z.literal('failed') }),
]);

const MessageSchema = z.discriminatedUnion('type', [
  /** A thread has a stored intent (`id`, from `from`): the holder carries out what its list holds. */
  z.object({ type: z.literal('wake'), id: z.string(), from: z.string(), ref: ThreadRefSchema }),
  z.object({ type: z.literal('reply'), id: z.string(), served: ServedSchema }),
]);

/**
 * What became of a relayed intent: `served` with its outcome, or `not_holder` when the
 * replica woken for it no longer follows the thread (the sender claims the lease again),
 * `failed` when carrying it out threw (told to the person as not done, never retried).
 */
export type Served = z.infer<typeof ServedSchema>;

export type RelayOutcome =
  | Served
  /** Nobody listens on the holder's channel: the holder is gone (its lease lapses soon). */
  | { kind: 'unreachable' }
  /**
   * No answer in time: the intent stays stored with its thread, and the replica that
   * follows the thread next (its holder, or whoever takes it over) carries it out.
   */
  | { kind: 'queued' };

/**
 * A stored intent taken before and never acknowledged: `taken` (the replica that took it
 * never said it was sending it to the session) or `sending` (it may have landed).
 */
export type Again = false | 'taken' | 'sending';

/**
 * How a stored intent is carried out by the replica draining its thread. `sending`: called
 * right before the write to the session that cannot be looked up reliably (a reply);
 * it rejects when another replica has taken the intent meanwhile, so the write is not made.
 */
export type Apply = (intent: RelayedIntent, again: Again, sending: () => Promise<void>) => Promise<Served>;

/** Appended to a taker's id in the taken hash once it is sending the intent to the session. */
const SENDING = '#sending';

/**
 * Takes the oldest stored intent of a thread for this replica: `taken` (which replica had
 * taken it before, if any: it may have carried it out and died before acknowledging).
 * KEYS: list, taken hash. ARGV: holder. Returns { raw, previous taker or false } or false.
 */
const TAKE_SCRIPT = `
local raw = redis.call('LINDEX', KEYS[1], 0)
if not raw then return false end
local id = cjson.decode(raw)['id']
local before = redis.call('HGET', KEYS[2], id)
redis.call('HSET', KEYS[2], id, ARGV[1])
return { raw, before or '' }`;

/** Marks a stored intent this replica took as being sent now; 0 when another replica has taken it since. KEYS: taken hash. ARGV: id, holder. */
const SENDING_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '${SENDING}')
return 1`;

/**
 * Acknowledges a stored intent carried out: it leaves the list, and its outcome is kept a
 * while for a sender who stopped waiting. KEYS: list, taken hash, done key. ARGV: raw, id, outcome, ttl.
 */
const ACK_SCRIPT = `
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return 1`;

/**
 * Intents for threads another replica follows, stored in Redis before they are announced:
 * each is pushed onto its thread's list (`<prefix>relay:<thread>`) and the holder is woken
 * over pub/sub on its own channel (`<prefix>replica:<holder id>`). The replica following
 * the thread takes the list's intents in order, carries each out and acknowledges it (it
 * leaves the list) before the next; whoever follows the thread next (the holder woken,
 * the replica taking a lapsed or handed-over lease, the sender itself once the thread is
 * free) drains what is left, so an intent announced to a holder that dies is still
 * carried out once. The outcome goes back to the sender's channel. One connection
 * subscribes (Redis keeps a subscribed connection for that alone), the shared one writes.
 */
export class Relay {
  private readonly waiting = new Map<string, (served: Served) => void>();
  private subscriber: Redis | undefined;
  private woken: (ref: ThreadRef, from: string, id: string) => Promise<void> = async () => undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** One drain at a time per thread here; a drain asked for meanwhile runs once more after it. */
  private readonly drains = new Map<string, { running: Promise<void>; again: boolean }>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly holder: string,
    private readonly log: Logger,
    private readonly answerWithinMs = 60_000,
  ) {}

  private channel(holder: string): string {
    return `${this.prefix}replica:${holder}`;
  }

  private listKey(ref: ThreadRef): string {
    return `${this.prefix}relay:${threadKey(ref)}`;
  }

  private takenKey(ref: ThreadRef): string {
    return `${this.prefix}relay-taken:${threadKey(ref)}`;
  }

  private doneKey(id: string): string {
    return `${this.prefix}relay-done:${id}`;
  }

  /**
   * Listens for wake-ups (`woken`: the replica drains the thread, or answers `not_holder`) and for answers to ours.
   * `reconnected`: the subscriber is back after its connection dropped (and subscribed again); a
   * wake-up published meanwhile reached nobody, so the caller drains the threads it holds.
   */
  async start(
    woken: (ref: ThreadRef, from: string, id: string) => Promise<void>,
    reconnected: () => Promise<void> = async () => undefined,
  ): Promise<void> {
    this.woken = woken;
    // Named, so an operator (or a test) finds this replica's subscriber in CLIENT LIST.
    this.subscriber = this.redis.duplicate({ name: `${this.prefix}relay:${this.holder}`.replace(/\s/g, '_') });
    this.subscriber.on('error', (error: unknown) => this.log.error({ err: error }, 'relay subscriber error'));
    let connectedOnce = false;
    // 'ready' comes once the client has subscribed again on a new connection.
    this.subscriber.on('ready', () => {
      if (!connectedOnce) return;
      this.log.info('relay subscriber connected again; draining the stored intents of the threads held here');
      this.track(
        reconnected().catch((error: unknown) =>
          this.log.error({ err: error }, 'could not drain stored intents after the relay subscriber came back'),
        ),
      );
    });
    await this.subscriber.connect();
    connectedOnce = true;
    await this.subscriber.subscribe(this.channel(this.holder), (raw) => this.receive(raw));
  }

  /** Whether the subscriber is connected now (readiness: a replica that cannot hear wake-ups answers no relayed work). */
  listening(): boolean {
    return this.subscriber?.isReady ?? false;
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Stores an intent with its thread, before any replica is told of it; its id. */
  async store(intent: RelayedIntent): Promise<string> {
    const id = randomUUID();
    const entry: StoredIntent = { id, from: this.holder, intent };
    await this.redis.rPush(this.listKey(intent.ref), JSON.stringify(entry));
    return id;
  }

  /**
   * Wakes the replica `to` for the stored intent `id` and waits for what became of it
   * (at most `answerWithinMs`, then it stays queued). Answered by whichever replica
   * carried it out: the one woken, or one that took the thread over from it.
   */
  async wake(to: string, ref: ThreadRef, id: string): Promise<RelayOutcome> {
    const answered = new Promise<Served>((resolve) => this.waiting.set(id, resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.answerWithinMs);
    });
    try {
      const receivers = await this.redis.publish(this.channel(to), JSON.stringify({ type: 'wake', id, from: this.holder, ref }));
      if (receivers === 0) return { kind: 'unreachable' };
      const outcome = await Promise.race([answered, timeout]);
      if (outcome !== 'timeout') return outcome;
      return (await this.doneOutcome(id)) ?? { kind: 'queued' };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** What became of a stored intent that this replica's own drain carried out (or one answered already). */
  async outcomeOf(id: string): Promise<RelayOutcome> {
    return (await this.doneOutcome(id)) ?? { kind: 'queued' };
  }

  private async doneOutcome(id: string): Promise<Served | undefined> {
    const raw = await this.redis.get(this.doneKey(id));
    if (raw === null) return undefined;
    const parsed = ServedSchema.safeParse(parseJson(raw));
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Carries out the thread's stored intents in order, each acknowledged before the next,
   * while `mayGoOn` (this replica follows the thread). One that throws while this
   * replica still follows the thread is acknowledged as `failed`; one cut short because
   * the thread went elsewhere is left for the next holder.
   */
  drain(ref: ThreadRef, apply: Apply, mayGoOn: () => boolean): Promise<void> {
    const key = threadKey(ref);
    const current = this.drains.get(key);
    if (current) {
      current.again = true;
      return current.running;
    }
    const state = { running: Promise.resolve(), again: false };
    state.running = (async () => {
      try {
        do {
          state.again = false;
          await this.drainOnce(ref, apply, mayGoOn);
        } while (state.again && mayGoOn());
      } finally {
        this.drains.delete(key);
      }
    })();
    this.drains.set(key, state);
    return state.running;
  }

  /** Whether the thread has stored intents waiting for its holder. */
  async pending(ref: ThreadRef): Promise<boolean> {
    return (await this.redis.lLen(this.listKey(ref))) > 0;
  }

  private async drainOnce(ref: ThreadRef, apply: Apply, mayGoOn: () => boolean): Promise<void> {
    while (mayGoOn()) {
      const taken = (await this.redis.eval(TAKE_SCRIPT, { keys: [this.listKey(ref), this.takenKey(ref)], arguments: [this.holder] })) as
        | [string, string]
        | null;
      if (!taken) return;
      const [raw, before] = taken;
      const parsed = StoredIntentSchema.safeParse(parseJson(raw));
      if (!parsed.success) {
        this.log.warn({ problem: parsed.error.message }, 'unreadable stored intent; dropped');
        await this.redis.lRem(this.listKey(ref), 1, raw);
        continue;
      }
      const entry = parsed.data;
      // Taken before and never acknowledged: that replica may have carried it out and stopped before it could say so.
      const again: Again = before === '' ? false : before.endsWith(SENDING) ? 'sending' : 'taken';
      if (again)
        this.log.info(
          { id: entry.id, intent: entry.intent.kind, takenBy: before },
          'carrying out a stored intent taken before and never acknowledged',
        );
      let served: Served;
      try {
        served = await apply(entry.intent, again, async () => {
          const marked = await this.redis.eval(SENDING_SCRIPT, { keys: [this.takenKey(ref)], arguments: [entry.id, this.holder] });
          if (marked !== 1) throw new Error('another replica has taken this intent over');
        });
      } catch (error) {
        // Cut short because the thread went elsewhere: the next holder carries it out.
        if (!mayGoOn()) return;
        this.log.error({ err: error, intent: entry.intent.kind }, 'could not carry out a relayed intent');
        served = { kind: 'failed' };
      }
      // Not carried out here, or cut short by the thread going elsewhere (a send aborted by the
      // replica stopping says nothing of whether it landed): the next holder does it, looking first.
      if (served.kind === 'not_holder' || !mayGoOn()) return;
      await this.redis.eval(ACK_SCRIPT, {
        keys: [this.listKey(ref), this.takenKey(ref), this.doneKey(entry.id)],
        arguments: [raw, entry.id, JSON.stringify(served), String(Math.max(this.answerWithinMs * 2, 60_000))],
      });
      this.answer(entry, served);
    }
  }

  /** Tells the sender what became of its intent (this replica's own waiter, or another's channel). */
  private answer(entry: StoredIntent, served: Served): void {
    if (entry.from === this.holder) return void this.waiting.get(entry.id)?.(served);
    this.publishReply(entry.from, entry.id, served);
  }

  /** Tells a sender that this replica does not follow the thread it was woken for. */
  notHolder(from: string, id: string): void {
    this.publishReply(from, id, { kind: 'not_holder' });
  }

  private publishReply(to: string, id: string, served: Served): void {
    const sent = this.redis
      .publish(this.channel(to), JSON.stringify({ type: 'reply', id, served }))
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not answer a relayed intent'))
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** Whether the replica `holder` still listens (a process that died or stopped does not). */
  async alive(holder: string): Promise<boolean> {
    const channel = this.channel(holder);
    const counts = await this.redis.pubSubNumSub([channel]);
    return Number(counts[channel] ?? 0) > 0;
  }

  private receive(raw: string): void {
    const parsed = MessageSchema.safeParse(parseJson(raw));
    if (!parsed.success) return void this.log.warn({ problem: parsed.error.message }, 'unreadable relay message');
    const message = parsed.data;
    if (message.type === 'reply') return void this.waiting.get(message.id)?.(message.served);
    const work = this.woken(message.ref, message.from, message.id)
      .catch((error: unknown) => this.log.error({ err: error }, 'could not carry out the stored intents of a thread'))
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /**
   * Lets what is being carried out finish, for at most `graceMs`: an intent cut short is
   * not acknowledged, so the replica that takes the thread over carries it out.
   */
  async close(graceMs = 10_000): Promise<void> {
    const stop = new AbortController();
    const grace = delay(graceMs, stop.signal).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.inFlight, ...[...this.drains.values()].map((d) => d.running)]), grace]);
    stop.abort();
    if (this.subscriber) await this.subscriber.close().catch(() => undefined);
    this.subscriber = undefined;
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
