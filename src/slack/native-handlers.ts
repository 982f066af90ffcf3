import type { App } from '@slack/bolt';
import type { AgentProfiles } from '../agents/profiles.js';
import type { AuditTrail } from '../ops/audit.js';
import type { BotMetrics } from '../ops/metrics.js';
import {
  FEEDBACK_ACTION_ID,
  FEEDBACK_DIALOG_CALLBACK_ID,
  type FeedbackDialogRead,
  feedbackDialog,
  readFeedbackDialog,
  readFeedbackValue,
} from '../render/feedback.js';
import { HOME_STOP_ACTION_ID, HOME_STOP_ALL_ACTION_ID, readHomeStopValue } from '../render/home-view.js';
import { DEFAULT_PROMPTS, nativeWords } from '../words/native.js';
import { actionTarget, ephemeral, type HandlerDeps, tellInterruptOutcome } from './handlers.js';
import { homeStopReply, stopAllReply } from './outcome-replies.js';
import type { HomePublisher } from './home-publisher.js';
import {
  AgentSessionStoppedSchema,
  AppHomeOpenedSchema,
  AssistantThreadStartedSchema,
  BlockActionSchema,
  describeZodError,
  EventEnvelopeSchema,
  teamOfEnvelope,
  ViewSubmissionSchema,
} from './inbound.js';
import type { NativeStatus } from './native-status.js';
import type { ThreadRef } from '../store/thread-records.js';

export type NativeHandlerDeps = HandlerDeps & {
  native: NativeStatus;
  home: HomePublisher;
  profiles: AgentProfiles;
  audit: AuditTrail;
  /** Counts feedback clicks (the bot's /metrics). */
  metrics: Pick<BotMetrics, 'feedback'>;
  /** ALLOW_DMS: without it a message in the Messages tab starts nothing, so nothing is suggested there. */
  allowDms: boolean;
};

/**
 * Listeners for Slack's own agent surfaces: its Stop on an agent session, the Messages
 * tab opening (suggested prompts and a greeting), the feedback buttons under finished
 * answers and their "what went wrong?" dialog, and App Home (mission control). Thin like
 * registerHandlers: parse, decide through the guard, answer the person.
 */
export function registerNativeHandlers(app: App, deps: NativeHandlerDeps): void {
  const { log } = deps;

  // Slack's Stop: the same interrupt, permission rules and audit as the Stop button and the reaction.
  app.event('agent_session_stopped', async ({ body, event }) => {
    const envelope = EventEnvelopeSchema.safeParse(body);
    const parsed = AgentSessionStoppedSchema.safeParse(event);
    if (!envelope.success || !parsed.success) return void log.warn('unreadable agent_session_stopped event');
    const team = teamOfEnvelope(envelope.data);
    if (!team) return;
    const e = parsed.data;
    const ref = { team, channel: e.channel, threadTs: e.thread_ts };
    const eventId = envelope.data.event_id;
    deps.track(
      (async () => {
        if (!(await deps.bridge.isSessionThread(ref)) || (eventId && !(await deps.seen.first(`event:${eventId}`)))) return;
        const outcome = await deps.guard.interrupt(ref, e.user, 'native');
        // Slack leaves the session in processing: whatever came of the Stop, the status is written again.
        deps.native.stopped(ref);
        await tellInterruptOutcome(deps, ref, e.user, outcome);
      })(),
    );
  });

  // assistant_view: a thread of the split pane opened.
  app.event('assistant_thread_started', async ({ event }) => {
    const parsed = AssistantThreadStartedSchema.safeParse(event);
    if (!parsed.success) return void log.warn({ problem: describeZodError(parsed.error) }, 'unreadable assistant_thread_started event');
    const t = parsed.data.assistant_thread;
    deps.track(suggest(deps, t.channel_id, t.thread_ts));
  });

  // agent_view: the Messages tab (prompts on the DM itself); and the Home tab (mission control).
  app.event('app_home_opened', async ({ body, event }) => {
    const envelope = EventEnvelopeSchema.safeParse(body);
    const parsed = AppHomeOpenedSchema.safeParse(event);
    if (!envelope.success || !parsed.success) return void log.warn('unreadable app_home_opened event');
    const team = teamOfEnvelope(envelope.data);
    if (!team) return;
    const e = parsed.data;
    if (e.tab === 'messages') deps.track(suggest(deps, e.channel, undefined));
    else deps.track(deps.home.opened(e.user, team));
  });

  app.action(FEEDBACK_ACTION_ID, async ({ ack, body }) => {
    await ack();
    const target = await actionTarget(deps, body, 'feedback');
    if (!target) return;
    const value = readFeedbackValue(target.value);
    if (!value) return void log.warn({ value: target.value }, 'unreadable feedback click');
    const { ref, user } = target;
    const record = await deps.records.update(ref, (r) => {
      r.feedback = { ...r.feedback, [`${value.turn}:${user}`]: { user, turn: value.turn, good: value.good, at: Date.now() } };
    });
    auditFeedback(deps, { ref, user, session: record.sessionId }, { turn: value.turn, good: value.good });
    deps.metrics.feedback.inc({ rating: value.good ? 'good' : 'bad' });
    const thanks = ephemeral(deps, {
      channel: ref.channel,
      user,
      threadTs: ref.threadTs,
      text: nativeWords({ kind: 'feedback_thanks', good: value.good }),
    });
    // A 👎 asks what went wrong; the trigger lives 3 s, so the dialog goes first.
    if (!value.good && target.triggerId) {
      await deps.writer
        .call('views.open', { trigger_id: target.triggerId, view: feedbackDialog({ ...ref, turn: value.turn }) })
        .catch((error: unknown) => log.warn({ err: error, user }, 'could not open the feedback dialog'));
    }
    await thanks;
  });

  app.view(FEEDBACK_DIALOG_CALLBACK_ID, async ({ ack, body }) => {
    await ack();
    const parsed = ViewSubmissionSchema.safeParse(body);
    const dialog: FeedbackDialogRead = parsed.success
      ? readFeedbackDialog(parsed.data.view.private_metadata, parsed.data.view.state?.values)
      : { kind: 'unreadable' };
    if (!parsed.success || dialog.kind === 'unreadable') return void log.warn('unreadable feedback dialog');
    const user = parsed.data.user.id;
    const { target, note } = dialog;
    const ref = { team: target.team, channel: target.channel, threadTs: target.threadTs };
    if (!(await deps.records.get(ref))) return;
    const key = `${target.turn}:${user}`;
    const record = await deps.records.update(ref, (r) => {
      const before = r.feedback?.[key];
      r.feedback = { ...r.feedback, [key]: { user, turn: target.turn, good: before?.good ?? false, at: before?.at ?? Date.now(), note } };
    });
    auditFeedback(deps, { ref, user, session: record.sessionId }, { turn: target.turn, good: false, note: note.length > 0 });
    await ephemeral(deps, { channel: ref.channel, user, threadTs: ref.threadTs, text: nativeWords({ kind: 'feedback_noted' }) });
  });

  // Stop on a Home tab row: the thread is named by the button; same rules as the thread's Stop.
  app.action(HOME_STOP_ACTION_ID, async ({ ack, body }) => {
    await ack();
    const parsed = BlockActionSchema.safeParse(body);
    if (!parsed.success) return void log.warn({ problem: describeZodError(parsed.error) }, 'unreadable Home stop click');
    const a = parsed.data;
    if (!(await firstDelivery(deps, a.trigger_id))) return void log.info({ what: 'home stop' }, 'duplicate click delivery ignored');
    const team = a.team?.id ?? a.user.team_id;
    const value = readHomeStopValue(a.actions[0]!.value ?? '');
    if (!team || !value) return void log.warn('Home stop click without a team or a thread');
    const ref = { team, channel: value.channel, threadTs: value.threadTs };
    const outcome = await deps.guard.interrupt(ref, a.user.id, 'home');
    await deps.home.tell(a.user.id, team, homeStopReply(outcome));
  });

  // Stop all on the Home tab: Slack's confirm dialog came first; the guard says whether this person may.
  app.action(HOME_STOP_ALL_ACTION_ID, async ({ ack, body }) => {
    await ack();
    const parsed = BlockActionSchema.safeParse(body);
    if (!parsed.success) return void log.warn({ problem: describeZodError(parsed.error) }, 'unreadable Home stop-all click');
    if (!(await firstDelivery(deps, parsed.data.trigger_id))) return void log.info({ what: 'home stop all' }, 'duplicate click delivery ignored');
    const team = parsed.data.team?.id ?? parsed.data.user.team_id ?? '';
    const outcome = await deps.guard.stopAll(parsed.data.user.id, team);
    await deps.home.tell(parsed.data.user.id, team, stopAllReply(outcome, 'confirmed'));
  });
}

/**
 * One click delivered twice (to one replica or to two) acts once: Slack mints a trigger per
 * click, the same dedupe as actionTarget's for the thread's buttons.
 */
async function firstDelivery(deps: Pick<NativeHandlerDeps, 'seen'>, triggerId: string | undefined): Promise<boolean> {
  return !triggerId || deps.seen.first(`action:${triggerId}`);
}

/** The audit line of a feedback click or of the note its dialog sent (`note`: whether it said anything). */
function auditFeedback(
  deps: Pick<NativeHandlerDeps, 'audit'>,
  who: { ref: ThreadRef; user: string; session: string | undefined },
  detail: { turn: number; good: boolean; note?: boolean },
): void {
  deps.audit.record({
    action: 'feedback',
    user: who.user,
    team: who.ref.team,
    channel: who.ref.channel,
    thread: who.ref.threadTs,
    session: who.session,
    outcome: 'ok',
    detail,
  });
}

/** Suggested prompts with the greeting as their title, on a Messages-tab thread (or, under agent_view, the DM itself). */
async function suggest(deps: NativeHandlerDeps, channel: string, threadTs: string | undefined): Promise<void> {
  // A prompt offered there would start nothing: the message gets the DM refusal instead.
  if (!deps.allowDms) return void deps.log.debug({ channel }, 'DMs are off: no suggested prompts');
  const prompts = deps.profiles.suggestedPrompts();
  const greeting = nativeWords({ kind: 'greeting' });
  try {
    await deps.writer.call(
      'assistant.threads.setSuggestedPrompts',
      {
        channel_id: channel,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        title: greeting,
        prompts: prompts.length > 0 ? prompts : [...DEFAULT_PROMPTS],
      },
      'status',
    );
  } catch (error) {
    deps.log.warn({ err: error, channel }, 'could not offer suggested prompts');
  }
}
