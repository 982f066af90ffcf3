import type { Refusal } from './policy.js';
import { formatCents } from './spend-cap.js';

/** `<@U1>`, `<@U1> and <@U2>`, `<@U1>, <@U2> and <@U3>` */
function people(ids: readonly string[]): string {
  const tags = ids.map((u) => `<@${u}>`);
  return tags.length <= 1 ? (tags[0] ?? '') : `${tags.slice(0, -1).join(', ')} and ${tags.at(-1)}`;
}

/** "<@owner>, who started this session, the approvers (…) or an admin" */
function inCharge(owner: string, approvers: readonly string[]): string {
  const others = approvers.filter((u) => u !== owner);
  return `<@${owner}>, who started this session,${others.length > 0 ? ` the approvers (${people(others)})` : ''} or an admin`;
}

/**
 * The one sentence a person reads when the bot will not do what they asked, always
 * privately (ephemeral). One case per refusal kind: a new kind does not compile until
 * it has its words.
 */
export function refusalWords(r: Refusal): string {
  switch (r.kind) {
    case 'user_not_listed':
      return 'You are not on this bot’s list of users, so I cannot start a session for you; ask an admin to add you.';
    case 'user_not_listed_for_profile':
      return `The \`${r.profile}\` agent is kept to a list of people and you are not on it; ask an admin, or use another profile.`;
    case 'guest':
      return 'Guest accounts cannot use this bot; ask an admin if you need it.';
    case 'account_unknown':
      return 'I could not check your Slack account just now, so I did nothing. Please try again in a moment.';
    case 'channel_not_allowed':
      return `Sessions cannot be started in <#${r.channel}>; ask an admin which channels the bot works in.`;
    case 'channel_not_allowed_for_profile':
      return `The \`${r.profile}\` agent cannot be started in <#${r.channel}>; try another channel or profile.`;
    case 'dms_off':
      return 'Sessions cannot be started in direct messages with this bot; use /agent in a channel.';
    case 'too_many_running':
      return `You already have ${r.running} session${r.running === 1 ? '' : 's'} running, and the limit is ${r.limit} per person. Stop one or wait for it to finish.`;
    case 'prompt_too_long':
      return `Your request is ${r.length.toLocaleString('en-US')} characters long; the limit is ${r.limit.toLocaleString('en-US')}. Shorten it, or share the long part as a file.`;
    case 'not_allowed_to_stop':
      return `Only ${inCharge(r.owner, r.approvers)} can stop this session. Nothing was sent to the agent.`;
    case 'not_allowed_to_steer':
      return r.ownerOnly
        ? `Only <@${r.owner}>, who started this session, and the people they let in can steer it, so your reply did not reach the agent.`
        : `Your reply did not reach the agent: only <@${r.owner}>, who started this session, the people they let in, and people allowed to use this bot can steer it.`;
    case 'not_allowed_to_decide':
      return `Only ${inCharge(r.owner, r.approvers)} can ${r.what === 'approve' ? 'approve or deny the agent’s tool calls' : 'answer the agent’s question'}.`;
    case 'not_allowed_to_raise':
      return `Only ${inCharge(r.owner, r.approvers)} can raise this session’s spend cap or end it.`;
    case 'not_allowed_to_let_in':
      return `Only <@${r.owner}>, who started this session, or an admin can let others steer it.`;
    case 'not_admin':
      return 'Only the bot’s admins (ADMIN_USERS) can do that.';
    case 'budget_at_max':
      return `The cap is already at its maximum of ${formatCents(r.maxCents)} (SESSION_BUDGET_MAX_USD). End the session, or start a new one.`;
  }
}
