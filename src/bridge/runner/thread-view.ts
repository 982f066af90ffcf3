import type { ThreadView } from '../../delivery/thread-delivery.js';
import { isLive, renderRootCard } from '../../render/root-card.js';
import { renderThread } from '../../render/thread-view.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import type { ThreadState } from '../thread-state.js';

/** What the thread should show now: the folded state and what people did (the record), rendered for delivery. */
export function viewOf(state: ThreadState, record: ThreadRecord): ThreadView {
  const stoppedByUser = state.stoppedBy ? record.interrupts[state.stoppedBy] : undefined;
  const rootTs = record.rootTs;
  return {
    threadTs: record.threadTs,
    blocks: renderThread(state, record.notices, {
      owner: record.owner,
      decisions: record.decisions,
      answers: record.answers,
      budgetActions: record.budgetActions,
      spendCap: record.spendCap,
    }),
    settled: !isLive(state) || record.failure !== undefined,
    recipient: { user: record.owner, team: record.team },
    ...(rootTs
      ? {
          root: {
            ts: rootTs,
            body: renderRootCard({
              owner: record.owner,
              prompt: record.prompt,
              profile: record.profile,
              state,
              ...(stoppedByUser ? { stoppedByUser } : {}),
              ...(record.failure ? { failure: record.failure } : {}),
            }),
          },
        }
      : {}),
  };
}

/** The record's status for a session phase (the store keeps threads not yet `ended` in its active set). */
export function statusOf(phase: ThreadState['phase']): ThreadRecord['status'] {
  return phase === 'terminated' ? 'ended' : phase === 'idle' ? 'idle' : 'active';
}

/**
 * Whether the event stream must stay open: someone is inside an intent (`holds`), a
 * person's action will move the session (`followUntil`), or the session runs, waits,
 * has queued messages or custom tools to answer.
 */
export function wantsStream(state: ThreadState, o: { holds: number; followUntil: unknown }): boolean {
  return (
    o.holds > 0 ||
    o.followUntil !== undefined ||
    state.phase === 'running' ||
    state.phase === 'waiting' ||
    state.queuedUserMessages.length > 0 ||
    state.pendingCustomTools.length > 0
  );
}
