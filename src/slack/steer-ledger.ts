import { randomUUID } from 'node:crypto';
import type { SteerMessage } from '../bridge/bridge.js';
import type { Logger } from '../ops/logger.js';
import type { PendingSteer, ThreadRecords, ThreadRef } from '../store/thread-records.js';
import type { SharedFile } from './shared-files.js';

export type SteerLedgerDeps = {
  records: ThreadRecords;
  log: Logger;
  /** This replica (several replicas), and whether another one still listens. */
  holder?: string | undefined;
  alive: (holder: string) => Promise<boolean>;
};

/**
 * Replies in session threads written to the store before their event is acked
 * (event-ack.ts holds the ack until the listener has returned). Slack never sends an
 * acked event again, and handing a reply to its session takes longer than the ack: a kill
 * in between lost it. A reply's record goes once it was handed on (or refused); one a kill
 * cut short is carried out at the next start-up, looking first whether it reached the
 * session (`again`), so it is sent once.
 */
export class SteerLedger {
  /** Replies this process is handing on now: the start-up pass runs while new ones arrive. */
  private readonly live = new Set<string>();

  constructor(private readonly deps: SteerLedgerDeps) {}

  /** Stores the reply; a store that fails leaves it as before (handed on, lost to a kill before it reaches the session). */
  async store(ref: ThreadRef, msg: SteerMessage): Promise<string | undefined> {
    const steer: PendingSteer = {
      id: randomUUID(),
      at: Date.now(),
      ...ref,
      user: msg.user,
      text: msg.text,
      ts: msg.ts,
      ...(msg.files?.length ? { files: [...msg.files] } : {}),
      ...(this.deps.holder ? { by: this.deps.holder } : {}),
    };
    this.live.add(steer.id);
    try {
      await this.deps.records.addPendingSteer(steer);
      return steer.id;
    } catch (error) {
      this.live.delete(steer.id);
      this.deps.log.warn({ err: error, channel: ref.channel }, 'could not store a reply before its ack');
      return undefined;
    }
  }

  /** The reply was handed on (or refused): its record goes. */
  async done(id: string | undefined): Promise<void> {
    if (!id) return;
    try {
      await this.deps.records.removePendingSteer(id);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not remove a reply handed on');
    } finally {
      this.live.delete(id);
    }
  }

  /** At start-up (after the threads are caught up): replies a kill cut short, carried out by `steer` with `again`. */
  async resume(steer: (ref: ThreadRef, msg: SteerMessage) => Promise<void>): Promise<number> {
    let resumed = 0;
    for (const p of await this.deps.records.pendingSteers()) {
      if (this.live.has(p.id)) continue;
      if (p.by && p.by !== this.deps.holder && (await this.deps.alive(p.by))) continue;
      this.live.add(p.id);
      this.deps.log.info({ channel: p.channel, thread: p.threadTs, ts: p.ts }, 'handing on a reply a restart cut short');
      const ref: ThreadRef = { team: p.team, channel: p.channel, threadTs: p.threadTs };
      const files = p.files ? { files: p.files as SharedFile[] } : {};
      try {
        await steer(ref, { user: p.user, text: p.text, ts: p.ts, ...files });
        resumed += 1;
      } catch (error) {
        this.deps.log.error({ err: error, channel: p.channel }, 'could not hand on a reply a restart cut short');
      } finally {
        await this.done(p.id);
      }
    }
    return resumed;
  }
}
