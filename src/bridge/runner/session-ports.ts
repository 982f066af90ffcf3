import { budgetParam } from '../../access/spend-cap.js';
import type { AgentEvent } from '../../agents/events.js';
import { downloadOutput, listOutputs } from '../../agents/files-api.js';
import { SessionEvents } from '../../agents/session-events.js';
import type { ToolContext, ToolResult } from '../../agents/tools/custom-tool.js';
import { ThreadDelivery, type ThreadView } from '../../delivery/thread-delivery.js';
import type { Logger } from '../../ops/logger.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import { OutputFiles } from '../output-files.js';
import type { PendingCustomTool, ThreadState } from '../thread-state.js';
import type { React } from './receipts.js';
import type { RunnerDeps } from './runner-deps.js';
import { sessionWire, type SessionWire } from './session-wire.js';
import type { FollowEvents } from './stream-follower.js';

/** The thread's messages in Slack as the runner's parts use them (ThreadDelivery). */
export type DeliveryPort = Pick<ThreadDelivery, 'request' | 'idle' | 'settled' | 'close' | 'deferStatus' | 'adoptPosted'>;

/**
 * Everything one session's parts reach outside the process through, already narrowed to
 * that session and thread: the SDK client, Slack, the store, the tool registry and the
 * metrics meet the runner here and nowhere else.
 */
export type SessionPorts = {
  /** The session's user events: sends and the look-ups after them. */
  wire: SessionWire;
  /** Follows the session's event stream (reconnects counted). */
  follow: FollowEvents;
  /** A batch the stream brought, counted by event type. */
  counted: (events: readonly AgentEvent[]) => void;
  /** The session's spend cap, in cents. */
  setCap: (cents: number) => Promise<void>;
  archive: () => Promise<void>;
  /** Shares the files the agent wrote this turn (`usedTools`: whether it ran any tool). */
  shareFiles: (usedTools: boolean) => Promise<void>;
  react: React;
  /** Writes `change` to the thread record under the store's lock; the record as written. */
  write: (change: (r: ThreadRecord) => void) => Promise<ThreadRecord>;
  /** One custom tool call, run by the registry with what a tool may use of this thread. */
  runTool: (call: PendingCustomTool, awaitAnswer: ToolContext['awaitAnswer']) => Promise<ToolResult>;
  /** The thread's delivery: renders `view` into Slack, tells `onIdle` when no write waits. */
  delivery: (view: () => ThreadView, onIdle: () => void) => DeliveryPort;
  /** Told what the thread folded (Slack's native status, the Home tab). */
  observe: (record: ThreadRecord, state: ThreadState) => void;
  /** How long an ask_user question waits (the decisions desk's default when unset). */
  questionTimeoutMs?: number;
};

/** The ports of one session over the composition root's clients; `signal` is the runner's lifetime. */
export function sessionPorts(record: ThreadRecord & { sessionId: string }, deps: RunnerDeps, log: Logger, signal: AbortSignal): SessionPorts {
  const { client } = deps;
  const { sessionId } = record;
  const ref = { team: record.team, channel: record.channel, threadTs: record.threadTs };
  const events = new SessionEvents(client, sessionId, log, deps.streamBackoff, deps.streamSilenceMs, (reason) =>
    deps.metrics?.streamReconnects.inc({ reason }),
  );
  const outputs = new OutputFiles(
    {
      outputs: {
        list: (opts) => listOutputs(client, sessionId, opts),
        download: (file, maxBytes) => downloadOutput(client, file, maxBytes),
      },
      writer: deps.writer,
      records: deps.records,
      log,
      ...(deps.outputRetryDelaysMs ? { retryDelaysMs: deps.outputRetryDelaysMs } : {}),
    },
    ref,
    signal,
  );
  return {
    wire: sessionWire(client, sessionId),
    follow: (opts) => events.follow(opts),
    counted: (batch) => {
      for (const event of batch) deps.metrics?.agentEvents.inc({ type: event.type });
    },
    setCap: async (cents) => void (await client.beta.sessions.update(sessionId, { budget: budgetParam(cents) })),
    archive: async () => void (await client.beta.sessions.archive(sessionId)),
    shareFiles: (usedTools) => outputs.deliver(usedTools),
    react: deps.react,
    write: (change) => deps.records.update(ref, change),
    runTool: (call, awaitAnswer) =>
      deps.tools.run(
        call.name,
        call.input,
        { ref, threadTs: record.threadTs, slack: deps.writer, botUserId: deps.botUserId, signal, awaitAnswer },
        log.child({ tool: call.name, toolUseId: call.eventId }),
      ),
    delivery: (view, onIdle) =>
      new ThreadDelivery(ref, view, {
        writer: deps.writer,
        records: deps.records,
        log,
        streams: deps.streams,
        botUserId: deps.botUserId,
        ...(deps.textLimits ? { limits: deps.textLimits } : {}),
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        onIdle,
        ...(deps.statusIntervalMs !== undefined ? { statusIntervalMs: deps.statusIntervalMs } : {}),
        ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
      }),
    observe: (written, state) => deps.watch?.observe(written, state),
    ...(deps.questionTimeoutMs !== undefined ? { questionTimeoutMs: deps.questionTimeoutMs } : {}),
  };
}
