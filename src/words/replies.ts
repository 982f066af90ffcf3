/**
 * The sentences the bot says to people outside the rendered thread: private answers to a
 * command, a click or a reply, and the few notes the bridge writes itself. One case per kind:
 * a new kind does not compile until it has its words. Refusals (who may) are the access
 * module's (`src/access/words.ts`); Anthropic failures are `apiProblemWords`
 * (`./api-problems.ts`); what the thread shows is rendered in `src/render/`.
 */
export type Reply =
  /** `/agent` with no task, or an empty mention. */
  | { kind: 'usage' }
  /** A reply in a thread whose record was pruned (RECORD_RETENTION_DAYS). */
  | { kind: 'record_pruned'; days: number }
  /** The inbound edge could not read a slash command. */
  | { kind: 'command_unreadable' }
  /** A command the edge let through that the handler's schema still refused. */
  | { kind: 'command_malformed' }
  | { kind: 'command_unknown' }
  | { kind: 'click_unreadable' }
  | { kind: 'button_unknown' }
  | { kind: 'no_shortcuts' }
  /** A click whose thread has no session record. */
  | { kind: 'button_session_missing' }
  | { kind: 'question_closed' }
  | { kind: 'decision_closed' }
  /** `problem`: the API's failure in words (`apiProblemWords`). */
  | { kind: 'decision_not_sent'; problem: string }
  | { kind: 'message_not_sent'; problem: string }
  | { kind: 'nothing_running' }
  /** A Stop from the Home tab was sent to the agent (in the thread, the card says so). */
  | { kind: 'stop_sent' }
  | { kind: 'already_stopping' }
  | { kind: 'stop_failed'; problem: string }
  | { kind: 'nothing_to_do' }
  | { kind: 'stop_all_done'; stopped: number; failed: number }
  | { kind: 'stop_all_cancelled' }
  | { kind: 'bot_restarting' }
  /** A start cut short by a shutdown, kept to be finished when the bot is back. */
  | { kind: 'start_carried_over' }
  /** The replica following the thread took a relayed intent and gave no answer in time. */
  | { kind: 'replica_unanswered' }
  /** A relayed intent nobody answered in time: it is stored with the thread and carried out once it is followed again. */
  | { kind: 'replica_queued' }
  | { kind: 'session_gone' }
  /** A stored start whose root card exists but whose session could not be finished after a restart. */
  | { kind: 'start_interrupted' }
  | { kind: 'restarted_before_session' }
  /** A click acked before a restart and not known to have been carried out (`what`: the button). */
  | { kind: 'click_interrupted'; what: 'stop' | 'approve' | 'deny' | 'answer' | 'raise' | 'end' }
  /** `/agent` could not be written to the store before its ack, so nothing was taken. */
  | { kind: 'start_not_stored' }
  /** Slack refused the root card (`code`: its error). */
  | { kind: 'root_card_refused'; code: string };

const USAGE = [
  '*Usage:* `/agent <what the agent should do>`',
  'I open a thread for the session. Reply in the thread to steer the agent, or to continue once it is done.',
  'Stop it with the Stop button or an :octagonal_sign: reaction.',
  'If this bot has agent profiles, `/agent --profile NAME <task>` picks one.',
  'Admins: `/agent sessions` lists the running sessions, `/agent stop-all` stops them all.',
].join('\n');

const CLICKED = {
  stop: 'click on Stop',
  approve: 'click on Approve',
  deny: 'click on Deny',
  answer: 'answer to the question',
  raise: 'click on Raise the cap',
  end: 'click on End',
} as const;

export function replyWords(r: Reply): string {
  switch (r.kind) {
    case 'usage':
      return USAGE;
    case 'record_pruned':
      return `This thread's session has not run for more than ${r.days} days and I no longer keep its record, so I cannot continue it. Start a new one with \`/agent <what the agent should do>\` or by mentioning me.`;
    case 'command_unreadable':
      return 'Slack sent a command I could not read, so I did nothing. Please try again.';
    case 'click_interrupted':
      return `I restarted before I had finished with your ${CLICKED[r.what]}, so it may not have happened. If the button is still there, please click it again.`;
    case 'start_not_stored':
      return 'I could not take that request just now (my storage did not answer), so nothing was started. Please run `/agent` again in a moment.';
    case 'command_malformed':
      return 'Slack sent a command I could not read. Please try again.';
    case 'command_unknown':
      return 'I only answer `/agent`. Try `/agent <what the agent should do>`.';
    case 'click_unreadable':
      return 'I could not read that click, so nothing happened. Please try again.';
    case 'button_unknown':
      return 'That button is no longer in use, so nothing happened.';
    case 'no_shortcuts':
      return 'This app has no shortcuts. Use `/agent <what the agent should do>`, or mention me in a channel.';
    case 'button_session_missing':
      return 'I could not find the session for this button.';
    case 'question_closed':
      return 'That question has already been answered or closed.';
    case 'decision_closed':
      return 'That tool call has already been decided or is no longer waiting.';
    case 'decision_not_sent':
      return `Your decision did not reach the agent: ${r.problem}`;
    case 'message_not_sent':
      return `Your message did not reach the agent: ${r.problem}`;
    case 'stop_sent':
      return 'Stop sent: the agent stops after its current step, and its thread says who stopped it.';
    case 'nothing_running':
      return 'Nothing is running in this thread right now, so there is nothing to stop.';
    case 'already_stopping':
      return 'The agent is already stopping.';
    case 'stop_failed':
      return `I could not stop the agent: ${r.problem}`;
    case 'nothing_to_do':
      return 'Nothing to do.';
    case 'stop_all_done':
      return `Stopped ${r.stopped} running session${r.stopped === 1 ? '' : 's'}.${r.failed > 0 ? ` ${r.failed} could not be stopped (see the log).` : ''}`;
    case 'stop_all_cancelled':
      return 'Nothing was stopped.';
    case 'bot_restarting':
      return 'The bot is restarting. Please try again in a moment.';
    case 'start_carried_over':
      return 'The bot is restarting. Your session starts as soon as it is back; no need to run /agent again.';
    case 'replica_unanswered':
      return 'The bot did not hear back about this in time, so it may not have reached the agent. Please look at the thread before trying again.';
    case 'replica_queued':
      return 'The bot is handing this thread over between its processes. What you asked for is kept and reaches the agent once, as soon as the thread’s process is back; the thread will show it.';
    case 'session_gone':
      return 'That thread’s session is gone. Mention me in a new thread.';
    case 'start_interrupted':
      return 'The bot restarted while starting your session and could not finish. Please run /agent again.';
    case 'restarted_before_session':
      return 'The bot restarted before the session was created. Run /agent again.';
    case 'root_card_refused':
      return rootCardRefused(r.code);
  }
}

function rootCardRefused(code: string): string {
  switch (code) {
    case 'not_in_channel':
    case 'method_not_supported_for_channel_type':
    case 'channel_not_found':
      return 'I can’t post in this conversation. Invite me first with `/invite @agent`, or use me in a channel I am in.';
    case 'is_archived':
      return 'This channel is archived.';
    default:
      return `Slack did not accept my message (${code}), so no session was started. Please try again.`;
  }
}
