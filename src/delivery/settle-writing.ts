import type { ThreadRecord, ThreadRef, Writing } from '../store/thread-records.js';
import { METADATA_EVENT_TYPE, type ThreadReply } from './slack-writer.js';
import type { Segment } from './text-plan.js';
import { compareTs, knownTs } from './thread-ts.js';

/** A segment whose words are not known: the planner rewrites it with the block's text. */
export const UNKNOWN_WORDS = { length: 0, hash: '', prefix: '', closed: true, startedAt: 0, lastWriteAt: 0 } as const;

export type SettleWriter = {
  threadMessages(channel: string, threadTs: string): Promise<ThreadReply[]>;
  call(method: 'chat.stopStream' | 'chat.delete', args: Record<string, unknown>): Promise<unknown>;
};

export type SettleRecords = {
  get(ref: ThreadRef): Promise<ThreadRecord | undefined>;
  update(ref: ThreadRef, change: (r: ThreadRecord) => void): Promise<unknown>;
  indexMessage(ref: ThreadRef, ts: string): Promise<void>;
};

export type SettleDeps = {
  ref: ThreadRef;
  writer: SettleWriter;
  records: SettleRecords;
  log: { warn(obj: object, msg: string): void };
  /** The bot's own user id: its unrecorded messages in the thread are found by it. */
  botUserId: string | undefined;
};

/**
 * A text write whose outcome is unknown (a crash, a 5xx, a dropped connection): what
 * Slack shows is looked up and recorded, so nothing is written twice and no orphan is
 * left beside a copy. A stream that may have started is looked for among the bot's
 * messages newer than the newest one the record knew: the first is adopted (stopped,
 * its words unknown), any other deleted. A stream that may have taken an append or a
 * stop is stopped and rewritten from the view. An attach is settled when the answer is
 * attached (the reserved file is looked for then). Returns the block's segments as now
 * recorded.
 */
export async function settleWriting(deps: SettleDeps, writing: Writing, segments: Segment[]): Promise<Segment[]> {
  const { ref, writer, records, log } = deps;
  const channel = ref.channel;
  let next = segments;
  if (writing.kind === 'start_stream' && writing.segment === segments.length) {
    const known = knownTs(await records.get(ref));
    const orphans = (await writer.threadMessages(channel, ref.threadTs))
      .filter((m): m is typeof m & { ts: string } => typeof m.ts === 'string')
      .filter((m) => m.user === deps.botUserId && !known.has(m.ts) && compareTs(m.ts, writing.afterTs ?? '0') > 0)
      .filter((m) => m.metadata?.event_type !== METADATA_EVENT_TYPE && !m.files?.length)
      .sort((a, b) => compareTs(a.ts, b.ts));
    const [adopt, ...extra] = orphans;
    if (adopt) {
      await writer.call('chat.stopStream', { channel, ts: adopt.ts }).catch(() => undefined);
      next = [...segments, { ...UNKNOWN_WORDS, ts: adopt.ts, mode: 'stream', startedAt: Date.now(), lastWriteAt: Date.now() }];
      await records.indexMessage(ref, adopt.ts);
    }
    for (const m of extra) await writer.call('chat.delete', { channel, ts: m.ts }).catch(() => undefined);
    log.warn({ key: writing.key, adopted: adopt?.ts, deleted: extra.length }, 'settled a stream start with an unknown outcome');
  } else if ((writing.kind === 'append' || writing.kind === 'stop') && segments[writing.segment]) {
    const seg = segments[writing.segment]!;
    if (!seg.closed) await writer.call('chat.stopStream', { channel, ts: seg.ts }).catch(() => undefined);
    next = segments.map((s, i) => (i === writing.segment ? { ...s, hash: '', closed: true } : s));
    log.warn({ key: writing.key, kind: writing.kind, ts: seg.ts }, 'a stream write has an unknown outcome; its message is rewritten');
  } else if (writing.kind === 'attach') {
    return segments;
  }
  const written = next;
  await records.update(ref, (r) => {
    r.segments[writing.key] = written;
    if (r.writing?.key === writing.key) delete r.writing;
  });
  return next;
}
