import type { ThreadRecord, ThreadRef } from '../../store/thread-records.js';

export type RecordKeeperDeps = {
  /** Writes `change` under the store's lock; the record as written. */
  write: (change: (r: ThreadRecord) => void) => Promise<ThreadRecord>;
  /** The thread should show what changed (delivery renders it again). */
  show: () => void;
  /** How many items the thread shows now: a note goes after them. */
  itemsShown: () => number;
  /** Told once a failure is written, before the thread shows it (Slack's own status follows the record). */
  failed?: (record: ThreadRecord) => void;
};

/**
 * The runner's copy of the thread record, always the one last written: every change goes
 * through the store's locked update, and the bridge's own lines (notes, a failure) are
 * written here before the thread shows them.
 */
export class RecordKeeper {
  constructor(
    private record: ThreadRecord & { sessionId: string },
    private readonly deps: RecordKeeperDeps,
  ) {}

  current(): ThreadRecord & { sessionId: string } {
    return this.record;
  }

  get ref(): ThreadRef {
    return { team: this.record.team, channel: this.record.channel, threadTs: this.record.threadTs };
  }

  async update(change: (r: ThreadRecord) => void): Promise<void> {
    const written = await this.deps.write(change);
    this.record = { ...written, sessionId: this.record.sessionId };
  }

  /** Writes what a person did into the record and shows it (spend-cap actions). */
  async amend(change: (r: ThreadRecord) => void): Promise<ThreadRecord> {
    await this.update(change);
    this.deps.show();
    return this.record;
  }

  /** A line in the thread from the bridge itself (not the agent). */
  async note(words: string): Promise<void> {
    await this.update((r) => {
      r.notices.push({ key: `n${r.notices.length}`, text: words, afterItems: this.deps.itemsShown() });
    });
    this.deps.show();
  }

  /** A problem the bridge hit: said in the thread and on the status line. */
  async fail(words: string): Promise<void> {
    await this.note(words);
    await this.update((r) => {
      r.failure = words;
      r.status = 'failed';
    });
    this.deps.failed?.(this.record);
    this.deps.show();
  }
}
