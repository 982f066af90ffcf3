import type { Writing } from '../../store/thread-records.js';
import type { Segment } from '../text-plan.js';

/**
 * What every text step is given: where it writes, the block's segments as recorded
 * before the step, and the store calls it makes around a write. Each step declares the
 * few Slack calls it makes as its own writer type, so it is tested with a plain object.
 */
export type TextStepContext = {
  channel: string;
  /** Where replies go (thread_ts). */
  threadTs: string;
  /** The text block's key. */
  key: string;
  segments: readonly Segment[];
  /** When the step was planned: the new segment's startedAt / lastWriteAt. */
  now: number;
  /** Records a write Slack gives no key for before it is sent (see settle-writing.ts). */
  intend(writing: Writing): Promise<void>;
  /** Records a new message of the thread as the bot's own. */
  indexMessage(ts: string): Promise<void>;
  log: { warn(obj: object, msg: string): void };
};

export type StepOutcome =
  /** The step is done: the block's segments now. */
  | { kind: 'written'; segments: Segment[] }
  /** Nothing was written and nothing is owed: plan again (another thread took the last stream slot). */
  | { kind: 'replan' }
  /** The write may have landed: settle `intent` from the thread, then plan again or retry later. */
  | { kind: 'unknown_outcome'; intent: Writing; next: 'replan' | 'retry_later' }
  /** Slack does not stream here (scope, workspace, recipient): post from now on. */
  | { kind: 'cannot_stream'; slackError: string };

/** A message does not start with the blank line that separated it from the previous one. */
export function startOfMessage(text: string): string {
  return text.replace(/^\n+/, '');
}
