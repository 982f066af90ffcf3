import type { SpendCap } from '../access/spend-cap.js';
import type { Leases } from '../replicas/leases.js';
import type { Relay } from '../replicas/relay.js';
import type { SessionAgents } from '../agents/session-agent.js';
import type { ThreadRecord } from '../store/thread-records.js';
import type { FileIntake } from './file-intake.js';
import type { RunnerDeps } from './runner/runner-deps.js';

/** What the bridge is built with: the runner's needs, plus what starting a session takes. */
export type BridgeDeps = RunnerDeps & {
  intake: FileIntake;
  /** People besides a session's owner who may approve its tool calls and answer its questions. */
  approversFor?: (record: ThreadRecord) => readonly string[];
  /** The `agent` a session is created with (adds the bot's custom tools an agent lacks). */
  sessionAgents?: SessionAgents;
  /** Waits before looking for a session a failed create may have left (default 30 s, then 5 min). */
  orphanSweepDelaysMs?: readonly number[];
  /** The bot's admins (ADMIN_USERS): they may decide in every session. */
  admins?: readonly string[];
  /** The spend cap a new session of this profile is created with (none: uncapped). */
  spendCapFor?: (profile: string | undefined) => SpendCap | undefined;
  /** Several replicas on one Redis: which threads this one follows, and how intents reach the one that does. */
  replicas?: { leases: Leases; relay: Relay };
  /** Counts the threads this replica took over from another (the hand-overs metric), by how they came free. */
  handovers?: { inc(labels: { how: 'handed_over' | 'lapsed' }): void };
};

export type BridgeLog = RunnerDeps['log'];
