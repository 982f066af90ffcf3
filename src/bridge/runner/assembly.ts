import { describeApiError } from '../../agents/api-errors.js';
import type { AgentEvent } from '../../agents/events.js';
import type { Logger } from '../../ops/logger.js';
import type { ThreadRecord } from '../../store/thread-records.js';
import type { LocalEvent, ThreadState } from '../thread-state.js';
import { answerOnce } from './answer-once.js';
import { DecisionsDesk } from './decisions-desk.js';
import { MessageSender } from './message-sender.js';
import { Receipts } from './receipts.js';
import { RecordKeeper } from './record-keeper.js';
import { SessionIntents } from './session-intents.js';
import type { DeliveryPort, SessionPorts } from './session-ports.js';
import { SpendCapDesk } from './spend-cap-desk.js';
import { StreamFollower } from './stream-follower.js';
import { StreamHold } from './stream-hold.js';
import { viewOf } from './thread-view.js';
import { ToolDesk } from './tool-desk.js';
import { TurnEnds } from './turn-ends.js';

/** What the parts need of the runner that owns them. */
export type RunnerHost = {
  /** The thread state as last folded. */
  state: () => ThreadState;
  /** Folds events into the state and lets each part act on what it shows. */
  fold: (events: Array<AgentEvent | LocalEvent>) => void;
  /** Background work the owner waits for on settle and close. */
  track: (work: Promise<unknown>) => void;
  /** Something may have let go: the owner checks whether it holds anything open. */
  mayBeQuiet: () => void;
  log: Logger;
  /** The owner's lifetime: aborted on close. */
  signal: AbortSignal;
};

/** One runner's parts, wired to each other, to the ports and to the host. */
export type RunnerParts = {
  /** The thread record as last written, and the bridge's own lines in the thread. */
  record: RecordKeeper;
  /** The session's event stream, open while something wants it. */
  stream: StreamFollower;
  /** Why the stream stays open beyond the session's own needs. */
  hold: StreamHold;
  /** Custom tool calls, each answered once. */
  tools: ToolDesk;
  /** Approvals and answers to questions, each recorded, then sent once. */
  decisions: DecisionsDesk;
  /** A new phase in the record; a finished turn's receipt and files. */
  turnEnds: TurnEnds;
  /** People's intents: message, interrupt, decision, answer, spend-cap press, catch-up. */
  intents: SessionIntents;
  /** The thread's messages in Slack, kept in step with the view. */
  delivery: DeliveryPort;
};

/**
 * Builds one runner's parts. Each part depends on a small interface; this is the one place
 * that says which part answers which, so the runner itself only folds and dispatches.
 * Parts reach each other lazily (through `parts`), since several need one another.
 */
export function assembleParts(record: ThreadRecord & { sessionId: string }, ports: SessionPorts, host: RunnerHost): RunnerParts {
  const { log, signal, track } = host;
  const parts = {} as RunnerParts;
  const show = () => parts.delivery.request();
  const receipts = new Receipts(ports.react, log);
  parts.record = new RecordKeeper(record, {
    write: ports.write,
    show,
    itemsShown: () => host.state().items.length,
    failed: (written) => ports.observe(written, host.state()),
  });
  const sendAnswer = answerOnce(ports.wire, signal);
  const sender = new MessageSender(ports.wire, signal, log);
  parts.hold = new StreamHold({
    open: () => parts.stream.open(),
    stopIfUnwanted: () => parts.stream.stopIfUnwanted(),
    released: host.mayBeQuiet,
  });
  parts.decisions = new DecisionsDesk({
    state: host.state,
    record: { current: () => parts.record.current(), update: (change) => parts.record.update(change) },
    show,
    send: sendAnswer,
    track,
    log,
    signal,
    ...(ports.questionTimeoutMs !== undefined ? { questionTimeoutMs: ports.questionTimeoutMs } : {}),
  });
  const spendCap = new SpendCapDesk({
    ready: () => parts.stream.open(),
    state: host.state,
    amend: async (change) => void (await parts.record.amend(change)),
    followUntil: (phases) => parts.hold.follow(phases),
    setCap: ports.setCap,
    archive: ports.archive,
    log,
  });
  parts.tools = new ToolDesk({
    run: (call) => ports.runTool(call, () => parts.decisions.awaitAnswer(call.eventId)),
    send: sendAnswer,
    note: (words) => parts.record.note(words),
    log,
    signal,
    onRunEnded: host.mayBeQuiet,
  });
  parts.stream = new StreamFollower({
    follow: ports.follow,
    onEvents: (batch) => {
      ports.counted(batch);
      sender.observe(batch);
      host.fold(batch);
    },
    wanted: () => parts.hold.wants(host.state()),
    lastProcessedAt: () => host.state().lastProcessedAt,
    onFailure: (error) => {
      const problem = describeApiError(error, 'following the session');
      log.error({ err: error, status: problem.status, requestId: problem.requestId }, 'event stream failed for good');
      track(parts.record.fail(problem.words));
    },
    onClosed: host.mayBeQuiet,
    signal,
  });
  parts.turnEnds = new TurnEnds({
    state: host.state,
    record: parts.record,
    delivery: { idle: () => parts.delivery.idle, settled: () => parts.delivery.settled() },
    shareFiles: ports.shareFiles,
    markTurn: (channel, ts, outcome) => receipts.turnDone(channel, ts, outcome),
    track,
    log,
  });
  parts.intents = new SessionIntents({
    busy: (work) => parts.hold.busy(work),
    openStream: () => parts.stream.open(),
    state: host.state,
    fold: host.fold,
    record: parts.record,
    sender,
    decisions: parts.decisions,
    spendCap,
    delivery: { request: show, adoptPosted: () => parts.delivery.adoptPosted() },
    turnEnds: parts.turnEnds,
    track,
    log,
  });
  parts.delivery = ports.delivery(
    () => viewOf(host.state(), parts.record.current()),
    () => {
      track(parts.turnEnds.persistStatus());
      host.mayBeQuiet();
    },
  );
  return parts;
}
