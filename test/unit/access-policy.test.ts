import { describe, expect, it } from 'vitest';
import { parseLetIn } from '../../src/access/let-in.js';
import {
  mayActAsAdmin,
  mayDecide,
  mayLetIn,
  mayRaiseBudget,
  mayStart,
  maySteer,
  mayStop,
  needsAccount,
  type AccessRules,
  type Refusal,
  type SessionFacts,
} from '../../src/access/policy.js';
import { capForSession, DEFAULT_MAX_FACTOR, nextCap } from '../../src/access/spend-cap.js';
import { hasBash, startWarning } from '../../src/access/start-warning.js';
import { refusalWords } from '../../src/access/words.js';

const open: AccessRules = {
  allowedUsers: [],
  allowedChannels: [],
  allowDms: true,
  allowGuests: false,
  admins: ['UADMIN'],
  maxRunningPerUser: 3,
  maxPromptChars: 100,
};
const member = { kind: 'member' } as const;
const guest = { kind: 'guest' } as const;
const start = (rules: AccessRules, o: Partial<Parameters<typeof mayStart>[1]> = {}) =>
  mayStart(rules, { user: 'U1', channel: 'C1', account: member, running: 0, promptChars: 10, ...o });
const reason = (d: ReturnType<typeof mayStart>) => (d.kind === 'refused' ? d.reason.kind : 'allowed');

const session: SessionFacts = { owner: 'UOWNER', approvers: ['UAPPROVER'], steerers: ['ULETIN'], channel: 'C1' };

describe('start', () => {
  it('with no lists: everyone but guests, unless ALLOW_GUESTS; an unknown account is not let in', () => {
    expect(reason(start(open))).toBe('allowed');
    expect(reason(start(open, { account: guest }))).toBe('guest');
    expect(reason(start(open, { account: { kind: 'unknown' } }))).toBe('account_unknown');
    expect(reason(start({ ...open, allowGuests: true }, { account: guest }))).toBe('allowed');
  });

  it('ALLOWED_USERS decides without an account look-up, and a listed guest is let in on purpose', () => {
    const listed = { ...open, allowedUsers: ['U1'] };
    expect(needsAccount(listed, 'U1')).toBe(false);
    expect(needsAccount(open, 'U1')).toBe(true);
    expect(needsAccount(open, 'UADMIN')).toBe(false);
    expect(reason(start(listed, { account: guest }))).toBe('allowed');
    expect(reason(start(listed, { user: 'U2' }))).toBe('user_not_listed');
    expect(reason(start(listed, { user: 'UADMIN' }))).toBe('allowed');
  });

  it('channels: ALLOWED_CHANNELS, DMs by ALLOW_DMS, and a profile narrows both lists', () => {
    const channels = { ...open, allowedChannels: ['C1'] };
    expect(reason(start(channels, { channel: 'C2' }))).toBe('channel_not_allowed');
    expect(reason(start(channels, { channel: 'D1' }))).toBe('allowed');
    expect(reason(start({ ...open, allowDms: false }, { channel: 'D1' }))).toBe('dms_off');
    const profile = { name: 'ops', allowedUsers: ['U1'], allowedChannels: ['C9'], steering: 'everyone_allowed' as const };
    expect(reason(start(open, { profile }))).toBe('channel_not_allowed_for_profile');
    expect(reason(start(open, { profile, channel: 'C9', user: 'U2' }))).toBe('user_not_listed_for_profile');
    expect(reason(start(open, { profile, channel: 'C9' }))).toBe('allowed');
  });

  it('limits: prompt size and running sessions, with their numbers', () => {
    expect(start(open, { promptChars: 101 })).toEqual({ kind: 'refused', reason: { kind: 'prompt_too_long', limit: 100, length: 101 } });
    expect(reason(start(open, { promptChars: 100 }))).toBe('allowed');
    expect(start(open, { running: 3 })).toEqual({ kind: 'refused', reason: { kind: 'too_many_running', limit: 3, running: 3 } });
    expect(reason(start(open, { running: 2 }))).toBe('allowed');
  });
});

describe('in a session', () => {
  it('stop, decide and raise the cap: owner, approvers, admins; nobody else', () => {
    for (const rule of [mayStop, (r: AccessRules, s: SessionFacts, u: string) => mayDecide(r, s, u, 'approve'), mayRaiseBudget]) {
      expect(['UOWNER', 'UAPPROVER', 'UADMIN', 'ULETIN', 'UBYSTANDER'].map((u) => rule(open, session, u).kind)).toEqual([
        'allowed',
        'allowed',
        'allowed',
        'refused',
        'refused',
      ]);
    }
  });

  it('steer: owner, admins and people let in; by default also anyone allowed to start; owner_only narrows it', () => {
    expect(maySteer(open, session, 'UBYSTANDER', member).kind).toBe('allowed');
    expect(maySteer(open, session, 'UBYSTANDER', guest).kind).toBe('refused');
    expect(maySteer({ ...open, allowedUsers: ['U1'] }, session, 'UBYSTANDER').kind).toBe('refused');
    const ownerOnly = { ...session, profile: { name: 'ops', steering: 'owner_only' as const } };
    expect(['UOWNER', 'ULETIN', 'UADMIN', 'UBYSTANDER', 'UAPPROVER'].map((u) => maySteer(open, ownerOnly, u, member).kind)).toEqual([
      'allowed',
      'allowed',
      'allowed',
      'refused',
      'refused',
    ]);
  });

  it('letting people in: owner and admins; stop-all: admins', () => {
    expect(['UOWNER', 'UADMIN', 'UAPPROVER'].map((u) => mayLetIn(open, session, u).kind)).toEqual(['allowed', 'allowed', 'refused']);
    expect(mayActAsAdmin(open, 'UADMIN').kind).toBe('allowed');
    expect(mayActAsAdmin(open, 'UOWNER')).toEqual({ kind: 'refused', reason: { kind: 'not_admin' } });
  });
});

describe('the words for each refusal', () => {
  it('say why, privately, with the numbers and names', () => {
    const cases: Array<[Refusal, string]> = [
      [{ kind: 'user_not_listed' }, 'You are not on this bot’s list of users'],
      [{ kind: 'channel_not_allowed', channel: 'C2' }, 'Sessions cannot be started in <#C2>'],
      [{ kind: 'too_many_running', limit: 3, running: 3 }, 'the limit is 3 per person'],
      [{ kind: 'prompt_too_long', limit: 20_000, length: 25_000 }, '25,000 characters long; the limit is 20,000'],
      [
        { kind: 'not_allowed_to_stop', owner: 'U1', approvers: ['U1', 'U5', 'U6'] },
        'Only <@U1>, who started this session, the approvers (<@U5> and <@U6>) or an admin can stop',
      ],
      [{ kind: 'budget_at_max', maxCents: 2500 }, 'maximum of $25.00'],
    ];
    for (const [r, words] of cases) expect(refusalWords(r)).toContain(words);
  });
});

describe('spend caps', () => {
  it('the profile overrides SESSION_BUDGET_USD, false turns it off; the maximum defaults to five caps', () => {
    expect(capForSession({ defaultUsd: 5 })).toEqual({ capCents: 500, maxCents: 500 * DEFAULT_MAX_FACTOR });
    expect(capForSession({ defaultUsd: 5, maxUsd: 12.5 })).toEqual({ capCents: 500, maxCents: 1250 });
    expect(capForSession({ profileUsd: 20, defaultUsd: 5, maxUsd: 10 })).toEqual({ capCents: 2000, maxCents: 2000 });
    expect(capForSession({ profileUsd: false, defaultUsd: 5 })).toBeUndefined();
    expect(capForSession({})).toBeUndefined();
  });

  it('a raise adds one starting cap, stays above the spend, and stops at the maximum', () => {
    expect(nextCap({ currentCents: 500, stepCents: 500, maxCents: 1200 })).toEqual({ kind: 'raised', toCents: 1000 });
    expect(nextCap({ currentCents: 1000, stepCents: 500, maxCents: 1200 })).toEqual({ kind: 'raised', toCents: 1200 });
    expect(nextCap({ currentCents: 1200, stepCents: 500, maxCents: 1200 })).toEqual({ kind: 'at_max', maxCents: 1200 });
    // A request overshot the cap by more than a step: the new cap is a step above the spend.
    expect(nextCap({ currentCents: 100, stepCents: 100, maxCents: 1000, spentCents: 250 })).toEqual({ kind: 'raised', toCents: 350 });
    expect(nextCap({ currentCents: 100, stepCents: 100, maxCents: 300, spentCents: 320 })).toEqual({ kind: 'at_max', maxCents: 300 });
  });
});

describe('letting people in by mention', () => {
  it('reads `@agent let @a and @b steer`, nothing else', () => {
    expect(parseLetIn('<@UBOT> let <@U1> steer', 'UBOT')).toEqual(['U1']);
    expect(parseLetIn('<@UBOT> let <@U1|dana>, <@U2> and <@W3> steer please', 'UBOT')).toEqual(['U1', 'U2', 'W3']);
    expect(parseLetIn('let <@U1> steer', 'UBOT')).toBeUndefined();
    expect(parseLetIn('<@UBOT> please let me steer', 'UBOT')).toBeUndefined();
    expect(parseLetIn('<@UBOT> let <@U1> see the logs', 'UBOT')).toBeUndefined();
  });
});

describe('the start warning', () => {
  const toolset = (configs: unknown[] = [], enabled = true) => [{ type: 'agent_toolset_20260401', default_config: { enabled }, configs }];

  it('knows when the toolset gives bash', () => {
    expect(hasBash(toolset())).toBe(true);
    expect(hasBash([{ type: 'agent_toolset_20260401' }])).toBe(true);
    expect(hasBash(toolset([{ name: 'bash', enabled: false }]))).toBe(false);
    expect(hasBash(toolset([{ name: 'bash', enabled: true }], false))).toBe(true);
    expect(hasBash(toolset([], false))).toBe(false);
    expect(hasBash([{ type: 'custom', name: 'bash' }])).toBe(false);
  });

  it('warns once for an open bot with bash on unrestricted networking, and for missing caps; not for a safe setup', () => {
    const agents = [
      { name: 'general', tools: toolset(), networking: 'unrestricted', capped: false },
      { name: 'research', tools: toolset([{ name: 'bash', enabled: false }]), networking: 'unrestricted', capped: true },
      { name: 'build', tools: toolset(), networking: 'limited', capped: true },
    ];
    const w = startWarning({ allowedUsers: [], agents });
    expect(w).toMatchObject({ unrestricted: ['general'], uncapped: ['general'] });
    expect(w?.message).toContain('ALLOWED_USERS is empty');
    expect(startWarning({ allowedUsers: ['U1'], agents: agents.slice(1) })).toBeUndefined();
    expect(startWarning({ allowedUsers: ['U1'], agents })?.unrestricted).toEqual([]);
  });
});
