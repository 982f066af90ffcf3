import { formatBytes } from '../agents/attachments.js';
import { unreachable } from '../ops/unreachable.js';
import type { ApiProblem } from '../agents/api-errors.js';
import type { DownloadProblem } from '../slack/file-download.js';

/** Why one file a person shared did not reach the agent (file intake). */
export type IntakeProblem =
  | { kind: 'not_downloaded'; problem: DownloadProblem }
  /** Upload to the Files API or the mount in the session: the API's words (`describeApiError`). */
  | { kind: 'not_uploaded'; problem: ApiProblem }
  | { kind: 'not_mounted'; problem: ApiProblem };

/** One line of the private note: the file's name and why it did not go. */
export function intakeProblemWords(name: string, p: IntakeProblem): string {
  switch (p.kind) {
    case 'not_downloaded':
      return `${name}: ${downloadWords(p.problem)}`;
    case 'not_uploaded':
    case 'not_mounted':
      return `${name}: ${p.problem.words}`;
    default:
      return unreachable(p);
  }
}

function downloadWords(p: DownloadProblem): string {
  switch (p.kind) {
    case 'login_page':
      return 'Slack answered with a sign-in page instead of the file (the bot may lack the files:read scope)';
    case 'too_large':
      return 'it turned out larger than the limit per file';
    case 'http':
      return `Slack answered HTTP ${p.status} when I fetched it`;
    case 'network':
      return 'I could not reach Slack to fetch it';
    case 'untrusted_url':
      return 'its download address is not a Slack address';
    default:
      return unreachable(p);
  }
}

/** The note to the sender, privately, when some of their files did not go: one line each. */
export function filesNotReachedWords(problems: readonly string[]): string {
  return ['Some of your files did not reach the agent (the rest of your message did):', ...problems.map((p) => `• ${p}`)].join('\n');
}

/** Why an output file is listed in the thread but not attached. */
export type SkipReason =
  | { kind: 'not_downloadable' }
  | { kind: 'too_large'; limitBytes: number }
  | { kind: 'too_many'; maxFiles: number }
  /** The Files API refused the download for good, or its body was larger than the limit. */
  | { kind: 'not_downloaded' };

export function skipWords(r: SkipReason): string {
  switch (r.kind) {
    case 'not_downloadable':
      return 'not downloadable';
    case 'too_large':
      return `over the ${formatBytes(r.limitBytes)} limit`;
    case 'too_many':
      return `over ${r.maxFiles} files per turn`;
    case 'not_downloaded':
      return 'could not be downloaded';
    default:
      return unreachable(r);
  }
}

/** An answer too long for messages, shared as a file: its title and the comment posted with it. */
export function longAnswerFile(chars: number): { title: string; comment: string } {
  return {
    title: 'Full answer',
    comment: `The answer is long (${chars.toLocaleString('en-US')} characters). The start is above; all of it is in this file.`,
  };
}
