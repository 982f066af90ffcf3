import { formatBytes } from '../agents/attachments.js';
import type { OutputFile } from '../agents/files-api.js';
import { escapeMrkdwn } from '../render/sanitize.js';
import type { OutputRecord } from '../store/thread-records.js';

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
  skip: Array<{ file: OutputFile; reason: string }>;
};

/** Outputs not yet handled in this thread: which to attach, which only to list (in listing order). */
export function planOutputs(listed: readonly OutputFile[], known: Readonly<Record<string, OutputRecord>>, limits: OutputLimits = OUTPUT_LIMITS): OutputPlan {
  const fresh = listed.filter((f) => known[f.id] === undefined);
  const plan: OutputPlan = { attach: [], skip: [] };
  for (const f of fresh) {
    if (!f.downloadable) plan.skip.push({ file: f, reason: 'not downloadable' });
    else if (f.size > limits.maxFileBytes) plan.skip.push({ file: f, reason: `over the ${formatBytes(limits.maxFileBytes)} limit` });
    else if (plan.attach.length >= limits.maxFiles) plan.skip.push({ file: f, reason: `over ${limits.maxFiles} files per turn` });
    else plan.attach.push(f);
  }
  return plan;
}

/** The short list posted with the files. */
export function outputComment(attached: readonly OutputFile[], skipped: OutputPlan['skip']): string {
  const lines = [
    `:package: The agent produced ${attached.length + skipped.length === 1 ? 'a file' : `${attached.length + skipped.length} files`}:`,
    ...attached.map((f) => `• \`${escapeMrkdwn(f.filename)}\` (${formatBytes(f.size)})`),
    ...skipped.map((s) => `• \`${escapeMrkdwn(s.file.filename)}\` (${formatBytes(s.file.size)}), not attached: ${s.reason}`),
  ];
  return lines.join('\n');
}
