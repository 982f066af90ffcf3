import type { WriteGuard } from '../../delivery/slack-writer.js';
import type { Logger } from '../../ops/logger.js';
import type { ThreadState } from '../thread-state.js';

/**
 * Adds one reaction to a message. `urgency` is the write scheduler's lane: a turn's
 * ✅ waits behind the thread's words, a 👀 goes with them. An emoji already there
 * counts as added (a retried receipt, or a person who reacted first). `guard`: the runner's
 * lease fence, checked as the reaction goes out (after its wait for budget).
 */
export type React = (channel: string, ts: string, name: string, urgency: 'content' | 'status', guard?: WriteGuard) => Promise<void>;

/** The mark a finished turn leaves on the message that started it. */
export function turnMark(outcome: ThreadState['outcome']): 'white_check_mark' | 'octagonal_sign' | 'warning' {
  return outcome === 'done' ? 'white_check_mark' : outcome === 'stopped' ? 'octagonal_sign' : 'warning';
}

/** The reactions the bot leaves on people's messages, so they see what became of them. */
export class Receipts {
  constructor(
    private readonly react: React,
    private readonly log: Logger,
  ) {}

  /** 👀: the message reached the agent. A failure is only logged: the message itself went through. */
  async seen(channel: string, ts: string): Promise<void> {
    await this.react(channel, ts, 'eyes', 'content').catch((error: unknown) => {
      this.log.warn({ err: error, channel, ts }, 'could not add the receipt reaction');
    });
  }

  /** ✅, 🛑 or ⚠️ on the message that started a turn, once the turn is over. */
  turnDone(channel: string, ts: string, outcome: ThreadState['outcome']): Promise<void> {
    return this.react(channel, ts, turnMark(outcome), 'status');
  }
}
