import type { Refusal } from '../access/policy.js';
import type { SharedFile } from '../slack/shared-files.js';
import type { PendingStart, ThreadRef } from '../store/thread-records.js';
import type { StartProblem } from '../words/starts.js';
import type { AnswerOutcome, DecideOutcome } from './runner/decisions-desk.js';
import type { InterruptOutcome } from './runner/session-intents.js';
import type { CapOutcome as DeskCapOutcome } from './runner/spend-cap-desk.js';

export type StartRequest = {
  team: string;
  channel: string;
  user: string;
  prompt: string;
  /** The thread to live in (mention or DM); absent for /agent, which posts its own root. */
  threadTs?: string;
  /** The human message that asked, when there is one (gets receipts). */
  promptTs?: string;
  /** Files shared with that message. */
  files?: readonly SharedFile[];
  /** `--profile NAME` from the prompt, if given ('' when the flag had no name). */
  profile?: string;
};

/**
 * A start request already in the store (`/agent` stores it before Slack is answered):
 * its record is the start's pending start. `resumed`: found by a restart, so its root card
 * may have been posted already.
 */
export type StoredStart = { start: PendingStart; resumed: boolean };

/** A human message in a session thread. */
export type SteerMessage = { user: string; text: string; ts: string; files?: readonly SharedFile[] };

export type { StartProblem } from '../words/starts.js';
/** `started`: the thread has its root card and record (whether the session then failed, the record says). */
export type StartOutcome = { kind: 'started'; ref: ThreadRef } | { kind: 'not_started'; problem: StartProblem };

/** Refused because of who asked: `refusal` says who may (its words are `refusalWords`). */
export type NotAllowed = { kind: 'not_allowed'; refusal: Refusal };

/** The bot is shutting down: no runner is made for the thread, so the intent was not carried out. */
export type ShuttingDown = { kind: 'shutting_down' };

/**
 * Several replicas: an intent relayed to the replica following its thread, which did not
 * answer in time. It is stored with the thread and carried out once by the replica that
 * follows the thread next (that one when it answers again, or the one taking it over).
 */
export type Queued = { kind: 'queued' };

/** A reply in a session thread: sent to the agent, taken as the answer to its open question, or not. */
export type SteerOutcome =
  | { kind: 'sent' }
  | { kind: 'answered' }
  | { kind: 'failed' }
  | { kind: 'not_a_session' }
  | NotAllowed
  | ShuttingDown
  | Queued;

/** Before a Deny opens its reason dialog: whether this person may decide in the thread. */
export type MayDecideOutcome = { kind: 'allowed' } | { kind: 'not_a_session' } | NotAllowed;

export type CapOutcome = DeskCapOutcome | ShuttingDown | Queued;
export type DecisionOutcome = DecideOutcome | { kind: 'not_a_session' } | NotAllowed | ShuttingDown | Queued;
export type QuestionOutcome = AnswerOutcome | { kind: 'not_a_session' } | NotAllowed | ShuttingDown | Queued;
/** A Stop (button, reaction, Slack's own Stop, the Home tab, stop-all) in a thread. */
export type InterruptIntentOutcome = InterruptOutcome | { kind: 'not_a_session' } | ShuttingDown | Queued;
