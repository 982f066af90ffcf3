import { formatBytes } from '../agents/attachments.js';
import type { OutputFile } from '../agents/files-api.js';
import { CARD_BUDGET, fitMrkdwn } from '../render/slack-limits.js';
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
export function planOutputs(
  listed: readonly OutputFile[],
  known: Readonly<Record<string, OutputRecord>>,
  limits: OutputLimits = OUTPUT_LIMITS,
): OutputPlan {
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

/** A file name as listed: a path-like name the agent chose may be any length. */
const NAME_CHARS = 120;

/**
 * The short list posted with the files: one line each, as many as fit a readable
 * message; the rest are counted. Names are escaped before they are cut.
 */
export function outputComment(attached: readonly OutputFile[], skipped: OutputPlan['skip']): string {
  const total = attached.length + skipped.length;
  const name = (f: OutputFile) => `\`${fitMrkdwn(f.filename.replace(/`/g, "'"), NAME_CHARS)}\``;
  const lines = [
    ...attached.map((f) => `• ${name(f)} (${formatBytes(f.size)})`),
    ...skipped.map((s) => `• ${name(s.file)} (${formatBytes(s.file.size)}), not attached: ${s.reason}`),
  ];
  let out = `:package: The agent produced ${total === 1 ? 'a file' : `${total} files`}:`;
  for (const [i, line] of lines.entries()) {
    const more = `\n… and ${lines.length - i} more`;
    const room = i === lines.length - 1 ? 0 : `\n… and ${lines.length - i - 1} more`.length;
    if (out.length + 1 + line.length + room > CARD_BUDGET.plainText) return out + more;
    out += `\n${line}`;
  }
  return out;
}
