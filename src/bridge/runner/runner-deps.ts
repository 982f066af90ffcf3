import type { AgentsClient } from '../../agents/client.js';
import type { AgentProfiles } from '../../agents/profiles.js';
import type { ToolRegistry } from '../../agents/tools/registry.js';
import type { SlackWriter } from '../../delivery/slack-writer.js';
import type { SlotSource } from '../../delivery/stream-slots.js';
import type { TextLimits } from '../../delivery/text-plan.js';
import type { Logger } from '../../ops/logger.js';
import type { BotMetrics } from '../../ops/metrics.js';
import type { ThreadRecord, ThreadRecords, ThreadRef } from '../../store/thread-records.js';
import type { ThreadState } from '../thread-state.js';
import type { React } from './receipts.js';

/** What every session runner is given by the composition root (the bridge hands it on). */
export type RunnerDeps = {
  client: AgentsClient;
  writer: SlackWriter;
  /** Reactions on people's messages (receipts), wired to Slack by the composition root. */
  react: React;
  records: ThreadRecords;
  tools: ToolRegistry;
  log: Logger;
  botUserId: string;
  statusIntervalMs?: number;
  retryDelayMs?: number;
  /** How long close() lets pending Slack writes finish. */
  closeGraceMs?: number;
  streams: SlotSource;
  textLimits?: Partial<TextLimits>;
  streamBackoff?: { initialMs: number; maxMs: number };
  /** How long an open event stream may stay without a byte (event or heartbeat) before it is replaced. */
  streamSilenceMs?: number;
  /** How long an ask_user question waits for an answer before the agent is told nobody answered. */
  questionTimeoutMs?: number;
  /** Waits before listing a turn's output files again when none show yet. */
  outputRetryDelaysMs?: readonly number[];
  /** Which agent new sessions run; `approversFor(record.profile)` for who may approve besides the owner. */
  profiles: AgentProfiles;
  /** The bot's metrics (agent events, stream reconnects, delivery lag); none in tests that do not look. */
  metrics?: Pick<BotMetrics, 'agentEvents' | 'streamReconnects' | 'deliveryLag'>;
  /** Told what each thread folded (Slack's native status, the Home tab); must not throw or block. */
  watch?: SessionWatch;
};

/** Watches every runner's folded state: Slack's own session status and mission control are drawn from it. */
export type SessionWatch = {
  observe(record: ThreadRecord, state: ThreadState): void;
  /** This replica stopped following the thread (its lease was lost): what is kept for it here goes, and nothing more is written. */
  forget(ref: ThreadRef): void;
};
