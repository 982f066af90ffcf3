import type { ThreadRecord } from '../store/thread-records.js';

/** Every message ts the record knows in its thread (root, keyed posts, text segments). */
export function knownTs(record: ThreadRecord | undefined): Set<string> {
  const known = new Set<string>();
  if (!record) return known;
  known.add(record.threadTs);
  if (record.rootTs) known.add(record.rootTs);
  for (const p of Object.values(record.posted)) if (p.ts) known.add(p.ts);
  for (const segs of Object.values(record.segments)) for (const s of segs) if (s.mode !== 'file') known.add(s.ts);
  return known;
}

/** The newest message ts the record knows: a stream started after it is looked for above it. */
export function newestTs(record: ThreadRecord | undefined): string {
  return [...knownTs(record)].reduce((a, b) => (compareTs(a, b) >= 0 ? a : b), '0');
}

/** Slack ts order ("seconds.micros", compared as numbers in both parts). */
export function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}
