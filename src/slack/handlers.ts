import type { App } from '@slack/bolt';
import type { Bridge } from '../bridge/bridge.js';
import type { SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { STOP_ACTION_ID } from '../render/root-card.js';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, readApprovalValue } from '../render/approval-card.js';
import { ANSWER_ACTION_PREFIX, readChoiceValue } from '../render/question-card.js';
import { CARD_BUDGET, cutPlain } from '../render/slack-limits.js';
import { DENY_DIALOG_CALLBACK_ID, denyDialog, STOP_ALL_CANCEL_ACTION_ID, STOP_ALL_CONFIRM_ACTION_ID, stopAllConfirm } from '../render/dialogs.js';
import { readDenyDialog } from './deny-dialog.js';
import type { SeenKeys } from '../store/seen-once.js';
import type { ThreadRecords, ThreadRef } from '../store/thread-records.js';
import {
  BlockActionSchema,
  describeZodError,
  EventEnvelopeSchema,
  type Listened,
  MessageEventSchema,
  ReactionAddedSchema,
  SlashCommandSchema,
  teamOfEnvelope,
  ViewSubmissionSchema,
} from './inbound.js';
import { beforeAck } from './before-ack.js';
import type { ClickFacts, ClickLedger } from './click-ledger.js';
import type { SteerLedger } from './steer-ledger.js';
import { splitProfileFlag } from './profile-flag.js';
import { replyWords } from '../words/replies.js';
import type { AccessGuard, StopOutcome } from '../access/guard.js';
import { parseLetIn } from '../access/let-in.js';
import { RAISE_CAP_ACTION_ID, END_SESSION_ACTION_ID } from '../render/budget-card.js';
import { isListSessions, isStopAll } from './stop-all.js';
import { isStopReaction, routeMessage } from './route-message.js';
import { readSharedFiles } from './shared-files.js';
import {
  answerReply,
  capReply,
  decisionReply,
  denyDialogReply,
  letInReply,
  listReply,
  startReply,
  steerReply,
  stopAllReply,
  stopReply,
} from './outcome-replies.js';
import type { AdmitStored, DecisionOutcome, SteerMessage, StoredStart } from '../bridge/bridge.js';
import { FEEDBACK_ACTION_ID, FEEDBACK_DIALOG_CALLBACK_ID } from '../render/feedback.js';
import { HOME_STOP_ACTION_ID, HOME_STOP_ALL_ACTION_ID } from '../render/home-view.js';

const USAGE = replyWords({ kind: 'usage' });

export type HandlerDeps = {
  bridge: Bridge;
  /** The access rules and the audit trail in front of the bridge's intents. */
  guard: AccessGuard;
  records: ThreadRecords;
  seen: SeenKeys;
  writer: SlackWriter;
  log: Logger;
  botUserId: string;
  /** Background work started by handlers after the ack; awaited on shutdown and in tests. */
  track: (work: Promise<unknown>) => void;
  /** Clicks stored before their ack (one a kill cut short is told at the next start-up); without it, clicks are only acked. */
  clicks?: ClickLedger;
  /** Replies stored before their ack (one a kill cut short is handed on at the next start-up). */
  steers?: SteerLedger;
};

/**
 * The commands, buttons and views registerHandlers listens to (its events: EVENT_SCHEMAS in
 * inbound.ts). InboundEdge answers everything else itself, so keep this in step with the
 * app.command / app.action / app.view calls below.
 */
export const LISTENED: Listened = {
  commands: ['/agent'],
  actions: (id) =>
    [
      STOP_ACTION_ID,
      APPROVE_ACTION_ID,
      DENY_ACTION_ID,
      RAISE_CAP_ACTION_ID,
      END_SESSION_ACTION_ID,
      STOP_ALL_CONFIRM_ACTION_ID,
      STOP_ALL_CANCEL_ACTION_ID,
      FEEDBACK_ACTION_ID,
      HOME_STOP_ACTION_ID,
      HOME_STOP_ALL_ACTION_ID,
    ].includes(id) || id.startsWith(ANSWER_ACTION_PREFIX),
  views: [DENY_DIALOG_CALLBACK_ID, FEEDBACK_DIALOG_CALLBACK_ID],
};

/**
 * Thin Slack listeners: parse, dedupe, turn into an intent for the bridge, answer the
 * person. Acks come first (Bolt acks events itself); the work runs after.
 */
export function registerHandlers(app: App, deps: HandlerDeps): void {
  const { bridge, log } = deps;

  // Every inbound request's work is tracked, so shutdown (and tests) can wait for it.
  app.use(async ({ next }) => {
    const work = next();
    deps.track(work);
    await work;
  });

  app.command('/agent', async ({ ack, body, respond }) => {
    const parsed = SlashCommandSchema.safeParse(body);
    if (!parsed.success) {
      log.warn({ problem: describeZodError(parsed.error) }, 'malformed slash command');
      await ack({ response_type: 'ephemeral', text: replyWords({ kind: 'command_malformed' }) });
      return;
    }
    const cmd = parsed.data;
    // Admins see every running session.
    if (isListSessions(cmd.text)) {
      await ack();
      deps.track(
        deps.guard.listRunning(cmd.user_id, cmd.team_id).then((outcome) => respond({ response_type: 'ephemeral', text: listReply(outcome) })),
      );
      return;
    }
    // An incident control for admins, confirmed before anything stops.
    if (isStopAll(cmd.text)) {
      if (!deps.guard.isAdmin(cmd.user_id)) {
        const outcome = await deps.guard.stopAll(cmd.user_id, cmd.team_id);
        return void (await ack({ response_type: 'ephemeral', text: stopAllReply(outcome, 'asked') }));
      }
      return void (await ack({ response_type: 'ephemeral', ...stopAllConfirm() }));
    }
    const { profile, text } = splitProfileFlag(cmd.text);
    const prompt = text.trim();
    if (prompt === '') {
      await ack({ response_type: 'ephemeral', text: USAGE });
      return;
    }
    const req = { team: cmd.team_id, channel: cmd.channel_id, user: cmd.user_id, prompt, ...(profile !== undefined ? { profile } : {}) };
    // Stored before the ack: Slack does not send an acked command again, so a kill after
    // the ack finds the request in the store at the next start-up instead of losing it.
    // A store that does not answer is said in the ack: the person can run it again.
    const taken = await beforeAck(
      async (isLate): Promise<StoredStart | 'duplicate' | 'late'> => {
        // The same invocation delivered twice (to one replica or to two) starts one session.
        if (cmd.trigger_id && !(await deps.seen.first(`command:${cmd.trigger_id}`))) return 'duplicate';
        return isLate() ? 'late' : bridge.storeStart(req);
      },
      // Stored after the person was told it was not: it must not start at the next start-up either.
      async (value) => {
        if (typeof value !== 'string') await bridge.dropStored(value);
      },
      deps.track,
    ).catch((error: unknown) => {
      log.error({ err: error, channel: cmd.channel_id, user: cmd.user_id }, 'could not store a start request');
      return { kind: 'late' as const };
    });
    if (taken.kind === 'late' || taken.value === 'late') {
      log.warn({ channel: cmd.channel_id, user: cmd.user_id }, 'a start request was not stored before its ack; told the person');
      return void (await ack({ response_type: 'ephemeral', text: replyWords({ kind: 'start_not_stored' }) }));
    }
    await ack();
    if (taken.value === 'duplicate') return void log.info({ channel: cmd.channel_id, user: cmd.user_id }, 'duplicate command delivery ignored');
    const stored = taken.value;
    deps.track(
      deps.guard.start(req, stored).then(async (outcome) => {
        const text = startReply(outcome);
        if (text) await respond({ response_type: 'ephemeral', text });
      }),
    );
  });

  const onMessage = async (body: unknown, rawEvent: unknown) => {
    const envelope = EventEnvelopeSchema.safeParse(body);
    const event = MessageEventSchema.safeParse(rawEvent);
    if (!envelope.success || !event.success) {
      log.warn({ problem: !event.success ? describeZodError(event.error) : 'bad envelope' }, 'unreadable message event');
      return;
    }
    const m = event.data;
    const team = teamOfEnvelope(envelope.data, m.team);
    if (!team) return void log.warn({ channel: m.channel }, 'message event without a team');
    const ref: ThreadRef | undefined = m.thread_ts ? { team, channel: m.channel, threadTs: m.thread_ts } : undefined;
    const isSession = ref ? await bridge.isSessionThread(ref) : false;
    const route = routeMessage(m, deps.botUserId, isSession);
    // Decided before any write: most messages (every echo of our own posts) are ignored,
    // and an ignored one must leave nothing in the store.
    if (route.kind === 'ignore') {
      if (
        route.reason === 'not for the bot' &&
        ref &&
        m.user &&
        (await deps.records.wasPruned(ref)) &&
        (await deps.seen.first(`message:${team}:${m.channel}:${m.ts}`))
      ) {
        const days = Math.round(deps.records.retentionMs / 86_400_000);
        await ephemeral(deps, { channel: m.channel, user: m.user, threadTs: ref.threadTs, text: replyWords({ kind: 'record_pruned', days }) });
      }
      return;
    }
    // One key per human message: a redelivery of the event and the app_mention twin of a
    // message both carry its ts, so an event-id key as well would only be a second write.
    if (!(await deps.seen.first(`message:${team}:${m.channel}:${m.ts}`))) {
      return void log.info({ eventId: envelope.data.event_id, channel: m.channel, ts: m.ts }, 'duplicate event delivery ignored');
    }
    const user = m.user!;
    const logCtx = { team, channel: m.channel, thread: route.threadTs, user };
    // Files shared with the message go with it to the agent.
    const { files, unreadable } = readSharedFiles(m.files);
    if (unreadable > 0) log.warn({ ...logCtx, unreadable }, 'message carried file objects I could not read');
    switch (route.kind) {
      case 'usage':
        await ephemeral(deps, { channel: m.channel, user, threadTs: m.thread_ts, text: USAGE });
        return;
      case 'steer': {
        const ref = { team, channel: m.channel, threadTs: route.threadTs };
        const letIn = parseLetIn(m.text, deps.botUserId);
        if (letIn) {
          log.info({ ...logCtx, people: letIn }, 'let others steer');
          deps.track(
            deps.guard
              .letIn(ref, user, letIn)
              .then((outcome) => ephemeral(deps, { channel: m.channel, user, threadTs: route.threadTs, text: letInReply(outcome) })),
          );
          return;
        }
        log.info(logCtx, 'thread reply → agent');
        const msg = { user, text: route.text, ts: m.ts, files };
        // Stored before this listener returns, so before the event is acked (event-ack.ts).
        const stored = await deps.steers?.store(ref, msg);
        deps.track(
          deps.guard
            .steer(ref, msg)
            .then(async (outcome) => {
              const text = steerReply(outcome);
              if (text) await ephemeral(deps, { channel: m.channel, user, threadTs: route.threadTs, text });
            })
            .finally(() => deps.steers?.done(stored)),
        );
        return;
      }
      case 'start': {
        log.info(logCtx, 'mention/DM → new session');
        const { profile, text } = splitProfileFlag(route.text);
        if (text === '') return void (await ephemeral(deps, { channel: m.channel, user, threadTs: m.thread_ts, text: USAGE }));
        const req = {
          team,
          channel: m.channel,
          user,
          prompt: text,
          threadTs: route.threadTs,
          promptTs: m.ts,
          files,
          ...(profile !== undefined ? { profile } : {}),
        };
        // Stored before this listener returns, so before the event is acked (event-ack.ts):
        // a kill after the ack finds it at the next start-up. A store that fails leaves the
        // start as it was before (made now, lost to a kill before its own stored start).
        const stored = await bridge.storeStart(req).catch((error: unknown) => {
          log.error({ ...logCtx, err: error }, 'could not store a start request before its ack; starting it anyway');
          return undefined;
        });
        deps.track(
          deps.guard.start(req, stored).then(async (outcome) => {
            const text = startReply(outcome);
            if (text) await ephemeral(deps, { channel: m.channel, user, threadTs: m.thread_ts, text });
          }),
        );
        return;
      }
    }
  };

  app.event('message', async ({ body, event }) => onMessage(body, event));
  app.event('app_mention', async ({ body, event }) => onMessage(body, event));

  app.event('reaction_added', async ({ body, event }) => {
    const envelope = EventEnvelopeSchema.safeParse(body);
    const parsed = ReactionAddedSchema.safeParse(event);
    if (!envelope.success || !parsed.success) return void log.warn('unreadable reaction event');
    const r = parsed.data;
    if (!isStopReaction(r.reaction) || r.item.type !== 'message' || !r.item.channel || !r.item.ts) return;
    const team = teamOfEnvelope(envelope.data);
    if (!team) return;
    const channel = r.item.channel;
    const messageTs = r.item.ts;
    const eventId = envelope.data.event_id;
    deps.track(
      (async () => {
        const ref = await findThread(deps, team, channel, messageTs);
        // Deduped only once it concerns a session: a reaction elsewhere writes nothing.
        if (!ref || (eventId && !(await deps.seen.first(`event:${eventId}`)))) return;
        const outcome = await deps.guard.interrupt(ref, r.user, 'reaction');
        await tellInterruptOutcome(deps, ref, r.user, outcome);
      })(),
    );
  });

  const approvalEvent = (value: string) => readApprovalValue(value)?.eventId;

  app.action(STOP_ACTION_ID, async ({ ack, body }) =>
    takeClick(deps, ack, clickOf(body, 'stop'), async () => {
      // The button's value is not needed: the message it sits on names the thread.
      const target = await actionTarget(deps, body, 'stop', { needsValue: false });
      if (!target) return;
      const outcome = await deps.guard.interrupt(target.ref, target.user, 'button');
      await tellInterruptOutcome(deps, target.ref, target.user, outcome);
    }),
  );

  app.action(APPROVE_ACTION_ID, async ({ ack, body }) =>
    takeClick(deps, ack, clickOf(body, 'approve', approvalEvent), async () => {
      const target = await actionTarget(deps, body, 'approve');
      if (!target) return;
      const button = readApprovalValue(target.value);
      if (!button) return void log.warn({ value: target.value }, 'unreadable approval button');
      const outcome = await deps.guard.decide(target.ref, button.eventId, { user: target.user, result: 'allow' });
      await tellDecisionOutcome(deps, target, outcome);
    }),
  );

  // Deny opens a dialog for the reason; the decision is made when it is submitted.
  app.action(DENY_ACTION_ID, async ({ ack, body }) => takeClick(deps, ack, clickOf(body, 'deny', approvalEvent), () => denyClicked(body)));
  const denyClicked = async (body: unknown) => {
    const target = await actionTarget(deps, body, 'deny');
    if (!target) return;
    const button = readApprovalValue(target.value);
    if (!button) return void log.warn({ value: target.value }, 'unreadable approval button');
    const refused = denyDialogReply(await deps.guard.mayDecideIn(target.ref, target.user));
    if (refused) return ephemeral(deps, { channel: target.ref.channel, user: target.user, threadTs: target.ref.threadTs, text: refused });
    try {
      await deps.writer.call('views.open', { trigger_id: target.triggerId, view: denyDialog(target.ref, button.eventId, button.toolName) });
    } catch (error) {
      // An expired trigger (Slack gives 3 s) should not lose the Deny: decide without a reason.
      log.warn({ err: error, user: target.user }, 'could not open the deny dialog; denying without a reason');
      const outcome = await deps.guard.decide(target.ref, button.eventId, { user: target.user, result: 'deny' });
      await tellDecisionOutcome(deps, target, outcome);
    }
  };

  app.view(DENY_DIALOG_CALLBACK_ID, async ({ ack, body }) => {
    const parsed = ViewSubmissionSchema.safeParse(body);
    const dialog = parsed.success
      ? readDenyDialog(parsed.data.view.private_metadata, parsed.data.view.state?.values)
      : { kind: 'unreadable' as const };
    if (!parsed.success || dialog.kind === 'unreadable') {
      await ack();
      return void log.warn({ problem: parsed.success ? 'bad private_metadata' : describeZodError(parsed.error) }, 'unreadable deny dialog');
    }
    const user = parsed.data.user.id;
    const target = { ref: dialog.ref, user };
    const facts: ClickFacts = {
      what: 'deny',
      user,
      team: dialog.ref.team,
      channel: dialog.ref.channel,
      threadTs: dialog.ref.threadTs,
      eventId: dialog.eventId,
    };
    await takeClick(deps, ack, facts, async () => {
      const outcome = await deps.guard.decide(dialog.ref, dialog.eventId, {
        user,
        result: 'deny',
        ...(dialog.reason ? { reason: dialog.reason } : {}),
      });
      await tellDecisionOutcome(deps, target, outcome);
    });
  });

  app.action(new RegExp(`^${ANSWER_ACTION_PREFIX}`), async ({ ack, body }) =>
    takeClick(
      deps,
      ack,
      clickOf(body, 'answer', (v) => readChoiceValue(v)?.eventId),
      async () => {
        const target = await actionTarget(deps, body, 'answer');
        if (!target) return;
        const choice = readChoiceValue(target.value);
        const text = target.label;
        if (!choice || text === undefined) return void log.warn({ value: target.value }, 'unreadable answer button');
        const outcome = await deps.guard.answer(target.ref, choice.eventId, { user: target.user, text, choice: choice.index });
        const words = answerReply(outcome);
        if (words) await ephemeral(deps, { channel: target.ref.channel, user: target.user, threadTs: target.ref.threadTs, text: words });
      },
    ),
  );

  // Raise the cap / End, on the thread's sentence when the agent stopped at its spend cap.
  for (const [actionId, what] of [
    [RAISE_CAP_ACTION_ID, 'raise'],
    [END_SESSION_ACTION_ID, 'end'],
  ] as const) {
    app.action(actionId, async ({ ack, body }) =>
      takeClick(deps, ack, clickOf(body, what), async () => {
        const target = await actionTarget(deps, body, actionId);
        if (!target) return;
        const outcome = await deps.guard.capAction(target.ref, target.value, target.user, what);
        const text = capReply(outcome);
        if (text) await ephemeral(deps, { channel: target.ref.channel, user: target.user, threadTs: target.ref.threadTs, text });
      }),
    );
  }

  // /agent stop-all's confirm step (an ephemeral, answered through its response_url).
  app.action(STOP_ALL_CONFIRM_ACTION_ID, async ({ ack, body, respond }) => {
    await ack();
    const parsed = BlockActionSchema.safeParse(body);
    if (!parsed.success) return void log.warn({ problem: describeZodError(parsed.error) }, 'unreadable stop-all click');
    const team = parsed.data.team?.id ?? parsed.data.user.team_id ?? '';
    const outcome = await deps.guard.stopAll(parsed.data.user.id, team);
    await respond({ response_type: 'ephemeral', replace_original: true, text: stopAllReply(outcome, 'confirmed') });
  });
  app.action(STOP_ALL_CANCEL_ACTION_ID, async ({ ack, respond }) => {
    await ack();
    await respond({ response_type: 'ephemeral', replace_original: true, text: replyWords({ kind: 'stop_all_cancelled' }) });
  });
}

/**
 * A start a restart found stored before its access check (`/agent` stores it before its
 * ack): checked and started through the guard, its outcome told to the person privately
 * (the command's response_url belonged to the process that died).
 */
export function admitStoredStart(deps: HandlerDeps): AdmitStored {
  return async (req, stored) => {
    const text = startReply(await deps.guard.start(req, stored));
    if (text) await ephemeral(deps, { channel: req.channel, user: req.user, threadTs: req.threadTs, text });
  };
}

/** A reply a kill cut short after its ack: through the guard again, looking first whether it reached the session; its outcome told as a reply's. */
export function resumeSteer(deps: HandlerDeps): (ref: ThreadRef, msg: SteerMessage) => Promise<void> {
  return async (ref, msg) => {
    const text = steerReply(await deps.guard.steer(ref, msg, true));
    if (text) await ephemeral(deps, { channel: ref.channel, user: msg.user, threadTs: ref.threadTs, text });
  };
}

/** A click stored before its ack, then carried out (`work` is awaited; the middleware tracks the listener). */
function takeClick(deps: HandlerDeps, ack: () => Promise<void>, facts: ClickFacts | undefined, work: () => Promise<unknown>): Promise<void> {
  if (!deps.clicks)
    return ack()
      .then(work)
      .then(() => undefined);
  return deps.clicks.take(ack, facts, work);
}

/** What a click's record keeps: who clicked where, and the tool call its button names (`eventOf` its value). */
function clickOf(body: unknown, what: ClickFacts['what'], eventOf?: (value: string) => string | undefined): ClickFacts | undefined {
  const parsed = BlockActionSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const a = parsed.data;
  const channel = a.channel?.id ?? a.container?.channel_id;
  if (!channel) return undefined;
  const team = a.team?.id ?? a.user.team_id;
  const threadTs = a.container?.thread_ts ?? a.message?.thread_ts;
  const value = a.actions[0]?.value;
  const eventId = value && eventOf ? eventOf(value) : undefined;
  return { what, user: a.user.id, channel, ...(team ? { team } : {}), ...(threadTs ? { threadTs } : {}), ...(eventId ? { eventId } : {}) };
}

/** `label`: the pressed button's text as the person saw it. */
export type ActionTarget = { ref: ThreadRef; user: string; value: string; label?: string; triggerId?: string };

/** The thread, person and button value of a click on one of our thread messages. */
export async function actionTarget(deps: HandlerDeps, body: unknown, what: string, o = { needsValue: true }): Promise<ActionTarget | undefined> {
  const parsed = BlockActionSchema.safeParse(body);
  if (!parsed.success) return void deps.log.warn({ problem: describeZodError(parsed.error), what }, 'unreadable button click');
  const a = parsed.data;
  const action = a.actions[0]!;
  // One click delivered twice (to one replica or to two) acts once: Slack mints a trigger per click.
  if (a.trigger_id && !(await deps.seen.first(`action:${a.trigger_id}`))) return void deps.log.info({ what }, 'duplicate click delivery ignored');
  const team = a.team?.id ?? a.user.team_id;
  const channel = a.channel?.id ?? a.container?.channel_id;
  const messageTs = a.container?.message_ts ?? a.message?.ts;
  if (!team || !channel || !messageTs || (o.needsValue && !action.value))
    return void deps.log.warn({ what }, 'button click without team, channel, message or value');
  const threadTs = a.container?.thread_ts ?? a.message?.thread_ts;
  const candidate = threadTs ? { team, channel, threadTs } : undefined;
  const ref = candidate && (await deps.bridge.isSessionThread(candidate)) ? candidate : await findThread(deps, team, channel, messageTs);
  if (!ref) {
    await ephemeral(deps, { channel, user: a.user.id, text: replyWords({ kind: 'button_session_missing' }) });
    return undefined;
  }
  return {
    ref,
    user: a.user.id,
    value: action.value ?? '',
    ...(action.text ? { label: action.text.text } : {}),
    ...(a.trigger_id ? { triggerId: a.trigger_id } : {}),
  };
}

async function tellDecisionOutcome(deps: HandlerDeps, target: { ref: ThreadRef; user: string }, outcome: DecisionOutcome): Promise<void> {
  const text = decisionReply(outcome);
  if (text) await ephemeral(deps, { channel: target.ref.channel, user: target.user, threadTs: target.ref.threadTs, text });
}

async function findThread(deps: HandlerDeps, team: string, channel: string, ts: string): Promise<ThreadRef | undefined> {
  const indexed = await deps.records.threadOfMessage(team, channel, ts);
  if (indexed) return indexed;
  // A message we never indexed (sent before the bot saw it): Slack knows its thread.
  try {
    const page = (await deps.writer.call('conversations.replies', { channel, ts, limit: 1 })) as {
      messages?: Array<{ thread_ts?: string; ts?: string }>;
    };
    const threadTs = page.messages?.[0]?.thread_ts ?? page.messages?.[0]?.ts;
    if (!threadTs) return undefined;
    const ref = { team, channel, threadTs };
    return (await deps.bridge.isSessionThread(ref)) ? ref : undefined;
  } catch (error) {
    deps.log.warn({ err: error, channel, ts }, 'could not look up the thread of a message');
    return undefined;
  }
}

export async function tellInterruptOutcome(deps: HandlerDeps, ref: ThreadRef, user: string, outcome: StopOutcome): Promise<void> {
  const text = stopReply(outcome);
  if (text) await ephemeral(deps, { channel: ref.channel, user, threadTs: ref.threadTs, text });
}

export async function ephemeral(deps: HandlerDeps, m: { channel: string; user: string; threadTs?: string | undefined; text: string }): Promise<void> {
  await deps.writer
    .call('chat.postEphemeral', {
      channel: m.channel,
      user: m.user,
      text: cutPlain(m.text, CARD_BUDGET.plainText),
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    })
    .catch((error: unknown) => deps.log.warn({ err: error, channel: m.channel, user: m.user }, 'could not send an ephemeral reply'));
}
