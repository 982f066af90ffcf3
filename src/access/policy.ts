/**
 * Who may do what in the bot, as data in → a decision out. Pure: the caller gathers
 * the facts (the person's account, how many sessions they run, the session's owner and
 * approvers) and writes nothing until the decision is made. The words people read for
 * each refusal live in `words.ts`.
 */

/** Bot-wide rules, from the environment (ALLOWED_USERS, ALLOWED_CHANNELS, …). */
export type AccessRules = {
  /** Empty: everyone in the workspace except guests (unless `allowGuests`). */
  allowedUsers: readonly string[];
  /** Empty: every channel the bot is in. DMs follow `allowDms`. */
  allowedChannels: readonly string[];
  allowDms: boolean;
  allowGuests: boolean;
  admins: readonly string[];
  maxRunningPerUser: number;
  maxPromptChars: number;
};

export type SteeringMode = 'everyone_allowed' | 'owner_only';

/** What a profile narrows (absent lists: the bot-wide rules alone). */
export type ProfileRules = {
  name: string;
  allowedUsers?: readonly string[] | undefined;
  allowedChannels?: readonly string[] | undefined;
  steering: SteeringMode;
};

/**
 * What Slack says about the person's account: a guest is a restricted or
 * ultra-restricted (single-channel) account. `unknown` when users.info could not answer.
 */
export type Account = { kind: 'member' } | { kind: 'guest' } | { kind: 'unknown' };

/** A session as the rules see it. `steerers`: people the owner or an admin let in. */
export type SessionFacts = {
  owner: string;
  approvers: readonly string[];
  steerers: readonly string[];
  channel: string;
  profile?: ProfileRules | undefined;
};

export type Refusal =
  | { kind: 'user_not_listed' }
  | { kind: 'user_not_listed_for_profile'; profile: string }
  | { kind: 'guest' }
  | { kind: 'account_unknown' }
  | { kind: 'channel_not_allowed'; channel: string }
  | { kind: 'channel_not_allowed_for_profile'; channel: string; profile: string }
  | { kind: 'dms_off' }
  | { kind: 'too_many_running'; limit: number; running: number }
  | { kind: 'prompt_too_long'; limit: number; length: number }
  | { kind: 'not_allowed_to_stop'; owner: string; approvers: readonly string[] }
  | { kind: 'not_allowed_to_steer'; owner: string; ownerOnly: boolean }
  | { kind: 'not_allowed_to_decide'; owner: string; approvers: readonly string[]; what: 'approve' | 'answer' }
  | { kind: 'not_allowed_to_raise'; owner: string; approvers: readonly string[] }
  | { kind: 'not_allowed_to_let_in'; owner: string }
  | { kind: 'not_admin' }
  | { kind: 'budget_at_max'; maxCents: number };

export type AccessDecision = { kind: 'allowed' } | { kind: 'refused'; reason: Refusal };

const ALLOWED: AccessDecision = { kind: 'allowed' };
const refuse = (reason: Refusal): AccessDecision => ({ kind: 'refused', reason });

/** Direct messages with the bot: channel ids starting with D (`channel_type: im`). */
const isDirectMessage = (channel: string): boolean => channel.startsWith('D');

export const isAdmin = (rules: AccessRules, user: string): boolean => rules.admins.includes(user);

/**
 * Whether the person's account (guest or not) decides anything for them: only when no
 * list names who may use the bot and guests are kept out. Callers skip users.info otherwise.
 */
export function needsAccount(rules: AccessRules, user: string, profile?: ProfileRules): boolean {
  if (isAdmin(rules, user) || rules.allowGuests) return false;
  return rules.allowedUsers.length === 0 && profile?.allowedUsers === undefined;
}

/** The person part of "may start": lists, guests. Also what "anyone allowed to start" means for steering. */
function mayUse(rules: AccessRules, req: { user: string; account?: Account | undefined; profile?: ProfileRules | undefined }): AccessDecision {
  const { user, profile } = req;
  if (isAdmin(rules, user)) return ALLOWED;
  if (rules.allowedUsers.length > 0 && !rules.allowedUsers.includes(user)) return refuse({ kind: 'user_not_listed' });
  if (profile?.allowedUsers !== undefined && !profile.allowedUsers.includes(user))
    return refuse({ kind: 'user_not_listed_for_profile', profile: profile.name });
  // Someone named on a list was let in on purpose, guest or not.
  if (needsAccount(rules, user, profile)) {
    const account = req.account?.kind ?? 'unknown';
    if (account === 'guest') return refuse({ kind: 'guest' });
    if (account === 'unknown') return refuse({ kind: 'account_unknown' });
  }
  return ALLOWED;
}

/** The place part of "may start": ALLOWED_CHANNELS, the profile's channels, DMs. */
function mayUseChannel(rules: AccessRules, channel: string, profile?: ProfileRules): AccessDecision {
  if (isDirectMessage(channel)) {
    if (!rules.allowDms) return refuse({ kind: 'dms_off' });
  } else if (rules.allowedChannels.length > 0 && !rules.allowedChannels.includes(channel)) {
    return refuse({ kind: 'channel_not_allowed', channel });
  }
  if (profile?.allowedChannels !== undefined && !profile.allowedChannels.includes(channel)) {
    return refuse({ kind: 'channel_not_allowed_for_profile', channel, profile: profile.name });
  }
  return ALLOWED;
}

/** Start: an allowed person, in an allowed place, under their running limit, with a prompt that fits. */
export function mayStart(
  rules: AccessRules,
  req: { user: string; channel: string; account?: Account | undefined; profile?: ProfileRules | undefined; running: number; promptChars: number },
): AccessDecision {
  const place = mayUseChannel(rules, req.channel, req.profile);
  if (place.kind === 'refused') return place;
  const person = mayUse(rules, req);
  if (person.kind === 'refused') return person;
  if (req.promptChars > rules.maxPromptChars) return refuse({ kind: 'prompt_too_long', limit: rules.maxPromptChars, length: req.promptChars });
  if (req.running >= rules.maxRunningPerUser) return refuse({ kind: 'too_many_running', limit: rules.maxRunningPerUser, running: req.running });
  return ALLOWED;
}

/** The owner, the session's approvers, and admins: stop, approve, answer, raise the cap. */
function isInCharge(rules: AccessRules, session: SessionFacts, user: string): boolean {
  return user === session.owner || session.approvers.includes(user) || isAdmin(rules, user);
}

export function mayStop(rules: AccessRules, session: SessionFacts, user: string): AccessDecision {
  return isInCharge(rules, session, user) ? ALLOWED : refuse({ kind: 'not_allowed_to_stop', owner: session.owner, approvers: session.approvers });
}

export function mayDecide(rules: AccessRules, session: SessionFacts, user: string, what: 'approve' | 'answer'): AccessDecision {
  return isInCharge(rules, session, user)
    ? ALLOWED
    : refuse({ kind: 'not_allowed_to_decide', owner: session.owner, approvers: session.approvers, what });
}

export function mayRaiseBudget(rules: AccessRules, session: SessionFacts, user: string): AccessDecision {
  return isInCharge(rules, session, user) ? ALLOWED : refuse({ kind: 'not_allowed_to_raise', owner: session.owner, approvers: session.approvers });
}

/**
 * Steer (a reply that reaches the agent): the owner, admins, the people let in, and
 * (unless the profile says `owner_only`) anyone allowed to start sessions. `account`
 * only matters when `needsAccount` says so.
 */
export function maySteer(rules: AccessRules, session: SessionFacts, user: string, account?: Account): AccessDecision {
  if (user === session.owner || isAdmin(rules, user) || session.steerers.includes(user)) return ALLOWED;
  const ownerOnly = session.profile?.steering === 'owner_only';
  if (!ownerOnly && mayUse(rules, { user, account, profile: session.profile }).kind === 'allowed') return ALLOWED;
  return refuse({ kind: 'not_allowed_to_steer', owner: session.owner, ownerOnly });
}

/** Letting others steer: the owner and admins. */
export function mayLetIn(rules: AccessRules, session: SessionFacts, user: string): AccessDecision {
  return user === session.owner || isAdmin(rules, user) ? ALLOWED : refuse({ kind: 'not_allowed_to_let_in', owner: session.owner });
}

/** Incident controls (`/agent stop-all`): admins only. */
export function mayActAsAdmin(rules: AccessRules, user: string): AccessDecision {
  return isAdmin(rules, user) ? ALLOWED : refuse({ kind: 'not_admin' });
}
