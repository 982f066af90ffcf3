import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../ops/logger.js';
import type { Redis } from '../store/redis/connection.js';
import { ThreadRefSchema } from '../store/thread-records.js';

const SharedFileSchema = z.object({
  id: z.string(),
  name: z.string(),
  mimetype: z.string(),
  size: z.number(),
  downloadUrl: z.string().optional(),
});

/** The intents a replica may carry out for a thread another replica follows. */
export const RelayedIntentSchema = z.discriminatedUnion('kind', [
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

const MessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('request'), id: z.string(), from: z.string(), intent: RelayedIntentSchema }),
  // The outcome is the holder's bridge's own answer (a `{ kind }` value or a steer outcome), passed on as it is.
  z.object({ type: z.literal('reply'), id: z.string(), served: z.enum(['served', 'not_holder', 'failed']), outcome: z.unknown() }),
]);

/**
 * What the holder did with a relayed intent: `served` with its outcome, or `not_holder`
 * when it no longer follows the thread (the sender claims the lease again and retries),
 * `failed` when carrying it out threw (told to the person as not done, never retried).
 */
export type Served = { kind: 'served'; outcome: unknown } | { kind: 'not_holder' } | { kind: 'failed' };

export type RelayOutcome =
  | Served
  /** Nobody listens on the holder's channel: the holder is gone (its lease lapses soon). */
  | { kind: 'unreachable' }
  /** Delivered, but no answer in time: the holder may have died in the middle of it. */
  | { kind: 'no_answer' };

/**
 * Intents for threads another replica follows, carried over Redis pub/sub: each replica
 * listens on its own channel (`<prefix>replica:<holder id>`), a request names the
 * channel its reply goes to. One connection subscribes (Redis keeps a subscribed
 * connection for that alone), the shared one publishes.
 */
export class Relay {
  private readonly waiting = new Map<string, (served: Served) => void>();
  private subscriber: Redis | undefined;
  private serving: (intent: RelayedIntent) => Promise<Served> = async () => ({ kind: 'not_holder' });
  private readonly inFlight = new Set<Promise<unknown>>();

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

  /** Listens for requests (carried out by `serve`) and for replies to ours. */
  async start(serve: (intent: RelayedIntent) => Promise<Served>): Promise<void> {
    this.serving = serve;
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', (error: unknown) => this.log.error({ err: error }, 'relay subscriber error'));
    await this.subscriber.connect();
    await this.subscriber.subscribe(this.channel(this.holder), (raw) => this.receive(raw));
  }

  /** Carries an intent to the replica holding its thread and waits for what it did. */
  async send(to: string, intent: RelayedIntent): Promise<RelayOutcome> {
    const id = randomUUID();
    const answered = new Promise<Served>((resolve) => this.waiting.set(id, resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.answerWithinMs);
    });
    try {
      const receivers = await this.redis.publish(this.channel(to), JSON.stringify({ type: 'request', id, from: this.holder, intent }));
      if (receivers === 0) return { kind: 'unreachable' };
      const outcome = await Promise.race([answered, timeout]);
      return outcome === 'timeout' ? { kind: 'no_answer' } : outcome;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** Whether the replica `holder` still listens (a process that died or stopped does not). */
  async alive(holder: string): Promise<boolean> {
    const channel = this.channel(holder);
    const counts = await this.redis.pubSubNumSub([channel]);
    return Number(counts[channel] ?? 0) > 0;
  }

  private receive(raw: string): void {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = MessageSchema.safeParse(json);
    if (!parsed.success) return void this.log.warn({ problem: parsed.error.message }, 'unreadable relay message');
    const message = parsed.data;
    if (message.type === 'reply') {
      this.waiting.get(message.id)?.(message.served === 'served' ? { kind: 'served', outcome: message.outcome } : { kind: message.served });
      return;
    }
    const work = this.serving(message.intent)
      .catch((error: unknown): Served => {
        this.log.error({ err: error, intent: message.intent.kind }, 'could not carry out a relayed intent');
        return { kind: 'failed' };
      })
      .then((served) =>
        this.redis.publish(
          this.channel(message.from),
          JSON.stringify({ type: 'reply', id: message.id, served: served.kind, outcome: served.kind === 'served' ? served.outcome : null }),
        ),
      )
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not answer a relayed intent'))
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    if (this.subscriber) await this.subscriber.close().catch(() => undefined);
    this.subscriber = undefined;
  }
}
