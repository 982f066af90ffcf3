import { compareTs } from './clock.js';
import type { StoredMessage } from './types.js';

type NewMessage = Omit<StoredMessage, 'channel' | 'reactions' | 'updatedCount'>;

/** Messages per channel (kept sorted by ts) and the bot's channel membership. */
export class MessageStore {
  private readonly byChannel = new Map<string, StoredMessage[]>();
  private readonly notMember = new Set<string>();

  list(channel: string): StoredMessage[] {
    return this.byChannel.get(channel) ?? [];
  }

  find(channel: string, ts: string): StoredMessage | undefined {
    return this.list(channel).find((m) => m.ts === ts);
  }

  insert(channel: string, m: NewMessage): StoredMessage {
    const stored: StoredMessage = { channel, reactions: [], updatedCount: 0, ...dropUndefined(m) };
    const list = this.byChannel.get(channel) ?? [];
    // Human ts come from tests and may predate bot posts; keep ts order.
    let i = list.length;
    while (i > 0 && compareTs(list[i - 1]!.ts, stored.ts) > 0) i -= 1;
    list.splice(i, 0, stored);
    this.byChannel.set(channel, list);
    return stored;
  }

  /** The thread root for any message of the thread (or the message itself if top-level). */
  rootOf(channel: string, ts: string): StoredMessage | undefined {
    const m = this.find(channel, ts);
    return m?.thread_ts && m.thread_ts !== m.ts ? this.find(channel, m.thread_ts) : m;
  }

  /** Root first, then replies in ts order; includes deleted messages (flagged). */
  thread(channel: string, rootTs: string): StoredMessage[] {
    const root = this.find(channel, rootTs);
    const replies = this.list(channel).filter((m) => m.thread_ts === rootTs && m.ts !== rootTs);
    return root ? [root, ...replies] : replies;
  }

  isMember(channel: string): boolean {
    return !this.notMember.has(channel);
  }

  setMember(channel: string, isMember: boolean): void {
    if (isMember) this.notMember.delete(channel);
    else this.notMember.add(channel);
  }
}

export function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
