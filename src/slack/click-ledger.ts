import { randomUUID } from 'node:crypto';
import type { Logger } from '../ops/logger.js';
import { unreachable } from '../ops/unreachable.js';
import type { PendingClick, ThreadRecords } from '../store/thread-records.js';
import { replyWords } from '../words/replies.js';
import { beforeAck } from './before-ack.js';

export type ClickFacts = Omit<PendingClick, 'id' | 'at' | 'by'>;

export type ClickLedgerDeps = {
  records: ThreadRecords;
  log: Logger;
  track: (work: Promise<unknown>) => void;
  /** This replica (several replicas), and whether another one still listens. */
  holder?: string | undefined;
  alive: (holder: string) => Promise<boolean>;
  /** A private answer to the person in the channel (or thread). */
  tell: (m: { channel: string; user: string; threadTs?: string | undefined; text: string }) => Promise<void>;
};

/**
 * Clicks written to the store before they are acked. Slack never sends an acked click
 * again, and carrying one out (a Stop, a decision, an answer) takes longer than the ack:
 * a kill in between left the person believing it happened. A click's record is removed
 * once it was carried out; one a kill cut short is found at the next start-up and its
 * person told that it may not have happened, unless the thread record shows it did (a
 * decision or an answer is recorded before it is sent, and sent when the thread is caught
 * up). A store that is slow or fails only loses that notice: the click is acked and
 * carried out as before.
 */
export class ClickLedger {
  /** Clicks this process is carrying out now: the start-up pass runs while new ones arrive. */
  private readonly live = new Set<string>();

  constructor(private readonly deps: ClickLedgerDeps) {}

  /** Stores the click (bounded by BEFORE_ACK_MS), acks it, carries it out, then removes its record. */
  async take(ack: () => Promise<void>, facts: ClickFacts | undefined, work: () => Promise<unknown>): Promise<void> {
    const click: PendingClick | undefined = facts && {
      id: randomUUID(),
      at: Date.now(),
      ...facts,
      ...(this.deps.holder ? { by: this.deps.holder } : {}),
    };
    let stored = false;
    if (click) {
      this.live.add(click.id);
      const taken = await beforeAck(
        () => this.deps.records.addPendingClick(click),
        () => this.deps.records.removePendingClick(click.id),
        this.deps.track,
      ).catch((error: unknown) => {
        this.deps.log.warn({ err: error, what: click.what }, 'could not store a click before its ack');
        return { kind: 'late' as const };
      });
      stored = taken.kind === 'done';
    }
    await ack();
    try {
      await work();
    } finally {
      if (click) {
        if (stored)
          await this.deps.records
            .removePendingClick(click.id)
            .catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not remove a click carried out'));
        this.live.delete(click.id);
      }
    }
  }

  /** At start-up: clicks a stop cut short are told to their person (once) and forgotten. */
  async tellInterrupted(): Promise<number> {
    let told = 0;
    for (const click of await this.deps.records.pendingClicks()) {
      if (this.live.has(click.id)) continue;
      if (click.by && click.by !== this.deps.holder && (await this.deps.alive(click.by))) continue;
      await this.deps.records.removePendingClick(click.id);
      if (await this.carriedOut(click)) continue;
      this.deps.log.info({ what: click.what, user: click.user, channel: click.channel }, 'a click was cut short by a restart; telling its person');
      await this.deps.tell({
        channel: click.channel,
        user: click.user,
        threadTs: click.threadTs,
        text: replyWords({ kind: 'click_interrupted', what: click.what }),
      });
      told += 1;
    }
    return told;
  }

  /** A decision or an answer in the thread record by this person: the catch-up sends it, if it was not sent. */
  private async carriedOut(click: PendingClick): Promise<boolean> {
    if (!click.team || !click.threadTs || !click.eventId) return false;
    const record = await this.deps.records.get({ team: click.team, channel: click.channel, threadTs: click.threadTs });
    switch (click.what) {
      case 'approve':
      case 'deny':
        return record?.decisions[click.eventId]?.user === click.user;
      case 'answer':
        return record?.answers[click.eventId]?.user === click.user;
      case 'stop':
      case 'raise':
      case 'end':
        return false;
      default:
        return unreachable(click.what);
    }
  }
}
