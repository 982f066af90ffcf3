import { unreachable } from '../ops/unreachable.js';
import { type ProfileProblem, profileProblemWords } from './profiles.js';
import { replyWords } from './replies.js';

/** Why a session did not start (the access rules' refusals are `src/access/words.ts`). */
export type StartProblem =
  | { kind: 'bot_restarting' }
  /** The bot began shutting down while posting the root card: the start is kept and finished once it is back. */
  | { kind: 'start_carried_over' }
  /** A mention joined a thread whose session is gone meanwhile. */
  | { kind: 'session_gone' }
  /** `--profile` named no profile there is (the words list them). */
  | { kind: 'no_profile'; problem: ProfileProblem }
  /** Slack refused the root card (`code`: its error). */
  | { kind: 'root_card_refused'; code: string }
  /** A stored start that could not be finished after a restart. */
  | { kind: 'start_interrupted' };

/** The words for a start that did not happen: told to its person privately, and the audit line's reason. */
export function startProblemWords(p: StartProblem): string {
  switch (p.kind) {
    case 'no_profile':
      return profileProblemWords(p.problem);
    case 'bot_restarting':
    case 'start_carried_over':
    case 'session_gone':
    case 'root_card_refused':
    case 'start_interrupted':
      return replyWords(p);
    default:
      return unreachable(p);
  }
}
