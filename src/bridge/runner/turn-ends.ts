import type { Logger } from '../../ops/logger.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import type { ThreadState } from '../thread-state.js';
import { statusOf } from './thread-view.js';

export type TurnEndsDeps = {
  state: () => ThreadState;
  record: { current: () => Pick<ThreadRecord, 'status' | 'channel' | 'sentMessages'>; update: (change: (r: ThreadRecord) => void) => Promise<void> };
  delivery: {
    /** No write waits or runs. */
    idle: () => boolean;
    settled: () => Promise<void>;
  };
  /** Shares the files the agent wrote this turn (`usedTools`: whether it ran any tool). */
  shareFiles: (usedTools: boolean) => Promise<void>;
  /** ✅/🛑/⚠️ on the message that started the turn. */
  markTurn: (channel: string, ts: string, outcome: ThreadState['outcome']) => Promise<void>;
  /** Background work the owner waits for on settle and close. */
  track: (work: Promise<unknown>) => void;
  log: Pick<Logger, 'info'>;
};

/**
 * What follows from a fold once the session moves: a new phase is written to the record
 * (the active set is how a restart finds the thread), and a turn that ended leaves its
 * mark on the message that started it and shares the files it wrote.
 */
export class TurnEnds {
  constructor(private readonly deps: TurnEndsDeps) {}

  /** After a batch was folded: `before` is what the state showed before it. */
  afterFold(before: { phase: ThreadState['phase']; turnOpen: boolean }): void {
    const state = this.deps.state();
    if (before.phase !== state.phase) this.deps.track(this.persistStatus());
    if (before.turnOpen && !state.turnOpen) {
      this.deps.track(this.markTurnDone());
      this.deps.track(this.shareOutputs());
    }
  }

  /** After the turn's words are out, the files it wrote follow. */
  async shareOutputs(): Promise<void> {
    const state = this.deps.state();
    const usedTools = state.items.some((i) => i.kind === 'tools' && i.turn === state.turn);
    await this.deps.delivery.settled();
    await this.deps.shareFiles(usedTools);
  }

  /** A ✅ on the human message that started the turn: its author sees the answer is complete. */
  async markTurnDone(): Promise<void> {
    const state = this.deps.state();
    const record = this.deps.record.current();
    const ts = state.turnStartedBy ? record.sentMessages[state.turnStartedBy]?.ts : undefined;
    if (!ts) return;
    await this.deps.markTurn(record.channel, ts, state.outcome);
  }

  /** The phase as the record's status, once it means something for a restart. */
  async persistStatus(): Promise<void> {
    const state = this.deps.state();
    const phase = state.phase;
    const status = statusOf(phase);
    const current = this.deps.record.current().status;
    // 'starting' until our first message is accepted (sendMessage reconciles then); 'failed' stays.
    if (status === current || current === 'starting' || current === 'failed') return;
    // A thread stays in the active set until its last messages are out, so a restart
    // in between still finishes delivering it.
    if (status !== 'active' && !this.deps.delivery.idle()) return;
    await this.deps.record.update((r) => {
      r.status = status;
    });
    this.deps.log.info({ phase, outcome: this.deps.state().outcome }, 'session status changed');
  }
}
