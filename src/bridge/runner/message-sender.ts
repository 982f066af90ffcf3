import { sendOnce } from '../../agents/send-once.js';
import { textOf, type AgentEvent } from '../../agents/events.js';
import type { Logger } from '../../ops/logger.js';
import type { FileBlock } from '../file-intake.js';
import type { SessionWire } from './session-wire.js';

/**
 * A person's user.message and user.interrupt, each sent once. The SDK would retry a
 * 5xx by itself and could post twice; here an unknown outcome is followed by a look
 * on the stream and in the history before anything is tried again.
 */
export class MessageSender {
  /** Texts of user.message events seen queued on the stream (not yet in the events list). */
  private readonly queuedTexts = new Map<string, string>();
  /** user.interrupt events seen so far: one that appears after a failed send is ours. */
  private readonly seenInterrupts = new Set<string>();

  constructor(
    private readonly wire: Pick<SessionWire, 'send' | 'recent'>,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {}

  /** Every event from the stream passes here first, so a look-up can find a send that landed. */
  observe(events: readonly AgentEvent[]): void {
    for (const e of events) {
      if (e.type === 'user.message' && !e.processed_at) this.queuedTexts.set(e.id, textOf(e.content));
      if (e.type === 'user.interrupt' && e.id) this.seenInterrupts.add(e.id);
    }
  }

  /** Sends the message; its event id. `known`: ids of messages already ours, which a look-up must not mistake for this one. */
  async sendMessage(text: string, files: readonly FileBlock[], known: ReadonlySet<string>): Promise<string> {
    const outcome = await sendOnce({
      attempt: async () => {
        const [id] = await this.wire.send([{ type: 'user.message', content: [{ type: 'text', text }, ...files] }]);
        if (!id) throw new Error('the API accepted the message but returned no event id');
        return id;
      },
      lookup: () => this.findSentMessage(text, known),
      signal: this.signal,
    });
    if (outcome.kind === 'failed') throw outcome.error;
    return outcome.value;
  }

  /**
   * One user.interrupt; its event id. A send whose outcome is unknown is looked for among
   * the interrupts not seen before it (on the stream, then in the history) and not
   * `ours` already: an interrupt sent twice would also cut the next turn short.
   */
  async sendInterrupt(ours: (id: string) => boolean): Promise<string> {
    const known = new Set(this.seenInterrupts);
    const fresh = (id: string) => id !== '' && !known.has(id) && !ours(id);
    const outcome = await sendOnce({
      attempt: async () => {
        const [id] = await this.wire.send([{ type: 'user.interrupt' }]);
        return id || `local-${Date.now()}`;
      },
      lookup: async () => {
        for (const id of this.seenInterrupts) if (fresh(id)) return id;
        return (await this.wire.recent('user.interrupt')).find((e) => fresh(e.id))?.id;
      },
      signal: this.signal,
    });
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'found') this.log.warn({ interruptId: outcome.value }, 'interrupt had landed despite the error; not sent again');
    return outcome.value;
  }

  /** A user.message with this text that is not `known`: one sent by a replica that stopped before recording it. */
  landedMessage(text: string, known: ReadonlySet<string>): Promise<string | undefined> {
    return this.findSentMessage(text, known);
  }

  /** A user.interrupt in the session that is not `ours` (recorded): one sent by a replica that stopped before recording it. */
  async landedInterrupt(ours: (id: string) => boolean): Promise<string | undefined> {
    for (const id of this.seenInterrupts) if (id !== '' && !ours(id)) return id;
    return (await this.wire.recent('user.interrupt')).find((e) => e.id !== '' && !ours(e.id))?.id;
  }

  private async findSentMessage(text: string, known: ReadonlySet<string>): Promise<string | undefined> {
    // Mid-run the message is queued: the stream has shown it, the events list has not yet.
    for (const [id, queued] of this.queuedTexts) if (!known.has(id) && queued === text) return id;
    for (const event of await this.wire.recent('user.message')) {
      if (event.type !== 'user.message' || known.has(event.id)) continue;
      if (textOf(event.content ?? []) === text) return event.id;
    }
    return undefined;
  }
}
