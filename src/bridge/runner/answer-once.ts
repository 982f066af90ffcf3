import { isStatus } from '../../agents/api-errors.js';
import { sendOnce } from '../../agents/send-once.js';
import type { SessionWire, UserEvent } from './session-wire.js';

/** The answers the bot gives to a call that waits on it. */
export type AnswerKind = 'user.custom_tool_result' | 'user.tool_confirmation';

/** `found`: the history already held this answer (a send that had landed, or another replica's). */
export type AnswerSent = { kind: 'sent' } | { kind: 'found' } | { kind: 'failed'; error: unknown };

/** Sends the answer to the call `eventId`, once. */
export type SendAnswer = (kind: AnswerKind, eventId: string, event: UserEvent) => Promise<AnswerSent>;

/**
 * A custom tool result or a tool confirmation, once: after an unknown outcome the
 * history says whether it landed, and a 400 is checked against the history too (the
 * API refuses a second answer to a call that was answered already).
 */
export function answerOnce(wire: Pick<SessionWire, 'send' | 'all'>, signal: AbortSignal): SendAnswer {
  const alreadyAnswered = async (kind: AnswerKind, eventId: string): Promise<boolean> => {
    for await (const event of wire.all(kind)) {
      if (event.type === 'user.custom_tool_result' && event.custom_tool_use_id === eventId) return true;
      if (event.type === 'user.tool_confirmation' && event.tool_use_id === eventId) return true;
    }
    return false;
  };
  return async (kind, eventId, event) => {
    const outcome = await sendOnce({
      attempt: () => wire.send([event]).then(() => true as const),
      lookup: async () => ((await alreadyAnswered(kind, eventId)) ? (true as const) : undefined),
      signal,
    });
    if (outcome.kind !== 'failed') return { kind: outcome.kind };
    // 400 here means the call was answered already (another replica, or an earlier run of this one).
    if (isStatus(outcome.error, 400) && (await alreadyAnswered(kind, eventId).catch(() => false))) return { kind: 'found' };
    return { kind: 'failed', error: outcome.error };
  };
}
