import type { OutputFile } from '../agents/files-api.js';
import type { OutputRecord } from '../store/thread-records.js';
import type { SkipReason } from '../words/files.js';

export const OUTPUT_LIMITS = {
  /** Per file: larger outputs are listed, not attached (they are held in memory on the way). */
  maxFileBytes: 50 * 1024 * 1024,
  /** Per turn: more are listed, not attached. */
  maxFiles: 10,
} as const;
export type OutputLimits = { maxFileBytes: number; maxFiles: number };

export type OutputPlan = {
  attach: OutputFile[];
  /** Listed with the reason they are not attached. */
  skip: Array<{ file: OutputFile; reason: SkipReason }>;
};

/** Outputs not yet handled in this thread: which to attach, which only to list (in listing order). */
export function planOutputs(
  listed: readonly OutputFile[],
  known: Readonly<Record<string, OutputRecord>>,
  limits: OutputLimits = OUTPUT_LIMITS,
): OutputPlan {
  const fresh = listed.filter((f) => known[f.id] === undefined);
  const plan: OutputPlan = { attach: [], skip: [] };
  for (const f of fresh) {
    if (!f.downloadable) plan.skip.push({ file: f, reason: { kind: 'not_downloadable' } });
    else if (f.size > limits.maxFileBytes) plan.skip.push({ file: f, reason: { kind: 'too_large', limitBytes: limits.maxFileBytes } });
    else if (plan.attach.length >= limits.maxFiles) plan.skip.push({ file: f, reason: { kind: 'too_many', maxFiles: limits.maxFiles } });
    else plan.attach.push(f);
  }
  return plan;
}
