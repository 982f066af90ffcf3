import { formatBytes } from '../agents/attachments.js';
import type { OutputFile } from '../agents/files-api.js';
import { skipWords, type SkipReason } from '../words/files.js';
import { CARD_BUDGET, fitMrkdwn } from './slack-limits.js';

/** A file name as listed: a path-like name the agent chose may be any length. */
const NAME_CHARS = 120;

/**
 * The short list posted with the files: one line each, as many as fit a readable
 * message; the rest are counted. Names are escaped before they are cut.
 */
export function outputComment(attached: readonly OutputFile[], skipped: ReadonlyArray<{ file: OutputFile; reason: SkipReason }>): string {
  const total = attached.length + skipped.length;
  const name = (f: OutputFile) => `\`${fitMrkdwn(f.filename.replace(/`/g, "'"), NAME_CHARS)}\``;
  const lines = [
    ...attached.map((f) => `• ${name(f)} (${formatBytes(f.size)})`),
    ...skipped.map((s) => `• ${name(s.file)} (${formatBytes(s.file.size)}), not attached: ${skipWords(s.reason)}`),
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
