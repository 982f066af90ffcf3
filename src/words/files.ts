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
