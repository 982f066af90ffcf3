import type { ThreadRecord, ThreadRef } from '../store/thread-records.js';
import { UNKNOWN_WORDS } from './settle-writing.js';
import { knownTs } from './thread-ts.js';

export type AdoptDeps = {
  ref: ThreadRef;
  /** Where replies go (thread_ts). */
  threadTs: string;
  writer: {
    /** The bot's keyed posts in the thread, by key. */
    postedKeys(channel: string, threadTs: string): Promise<Map<string, string>>;
    call(method: 'chat.stopStream', args: Record<string, unknown>): Promise<unknown>;
  };
  records: {
    get(ref: ThreadRef): Promise<ThreadRecord | undefined>;
    update(ref: ThreadRef, change: (r: ThreadRecord) => void): Promise<unknown>;
  };
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
};

/**
 * After a crash between a post and its record: find the bot's keyed posts in the
 * thread and record them, so they are edited rather than posted again. Streams left
 * open are stopped; their recorded words are exact unless a write to them was in
 * flight (`record.writing`), which the next delivery pass settles from the thread.
 */
export async function adoptPosted(deps: AdoptDeps): Promise<void> {
  const found = await deps.writer.postedKeys(deps.ref.channel, deps.threadTs);
  const record = await deps.records.get(deps.ref);
  if (!record) return;
  const recordedTs = knownTs(record);
  // A message the record knows under another key is recorded: the root card of an /agent
  // start carries `root:<start id>` (to be found in the channel's history) and is recorded as `root`.
  const missing = [...found].filter(([key, ts]) => !record.posted[key] && !key.includes('#') && !recordedTs.has(ts));
  const open = Object.entries(record.segments).flatMap(([key, segs]) =>
    segs.flatMap((seg, i) =>
      seg.mode === 'stream' && !seg.closed && !(record.writing?.key === key && record.writing.segment === i) ? [{ key, i, seg }] : [],
    ),
  );
  for (const { seg } of open) {
    await deps.writer.call('chat.stopStream', { channel: deps.ref.channel, ts: seg.ts }).catch(() => undefined);
  }
  const postedSegments = [...found].filter(([key, ts]) => key.includes('#') && !recordedTs.has(ts));
  if (missing.length === 0 && open.length === 0 && postedSegments.length === 0) return;
  await deps.records.update(deps.ref, (r) => {
    for (const [key, ts] of missing) r.posted[key] ??= { ts, hash: 'adopted' };
    for (const { key, i } of open) r.segments[key]![i]!.closed = true;
    // A posted text segment whose record was lost: its words are unknown, so it is
    // rewritten from the view by the next pass (never posted a second time).
    for (const [key, ts] of postedSegments) {
      const [blockKey, n] = key.split('#') as [string, string];
      r.segments[blockKey] ??= [];
      const segs = r.segments[blockKey];
      if (segs.some((s) => s.ts === ts) || Number(n) !== segs.length) continue;
      segs.push({ ...UNKNOWN_WORDS, ts, mode: 'post' });
    }
  });
  const adopted = [...missing.map(([k]) => k), ...postedSegments.map(([k]) => k)];
  // Streams left open are what any process stopped mid-turn leaves (a takeover, a restart): not a lost record.
  if (adopted.length === 0) return void deps.log.info({ openStreams: open.length }, 'stopped the streams a stopped process left open');
  deps.log.warn({ keys: adopted, openStreams: open.length }, 'adopted posts that were made but not recorded');
}
