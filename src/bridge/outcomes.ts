import type { SharedFile } from '../slack/shared-files.js';
import type { ThreadRef } from '../store/thread-records.js';
import type { AnswerOutcome, DecideOutcome } from './session-runner.js';

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

/** A human message in a session thread. */
export type SteerMessage = { user: string; text: string; ts: string; files?: readonly SharedFile[] };

export type StartOutcome = { ok: true; ref: ThreadRef; sessionId?: string } | { ok: false; words: string };

export type SteerOutcome = 'not_a_session' | 'sent' | 'failed' | 'answered' | { notAllowed: string };

export type { CapOutcome } from './runner/spend-cap-desk.js';

/** Refused because of who asked: `words` say who may. */
export type NotAllowed = { kind: 'not_allowed'; words: string };
export type DecisionOutcome = DecideOutcome | { kind: 'not_a_session' } | NotAllowed;
export type QuestionOutcome = AnswerOutcome | { kind: 'not_a_session' } | NotAllowed;
