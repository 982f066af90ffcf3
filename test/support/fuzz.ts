// Seeded mutations of real Slack payloads (test/fakes/slack/payloads.ts) for the inbound
// fuzz tests: fields deleted, nulled, retyped, strings made huge, arrays where objects go.
import {
  appMention,
  blockAction,
  botEcho,
  dmMessage,
  humanReply,
  messageChanged,
  messageDeleted,
  reactionAdded,
  topLevelMessage,
} from '../fakes/slack/index.js';
import { seededRandom as rng } from './seeded-random.js';
export { rng };

export type Kind = 'event' | 'command' | 'interaction';
export type Sample = { kind: Kind; name: string; body: Record<string, unknown> };

/**
 * Real payloads of every kind, aimed at channel C_FUZZ and its made-up messages, so a
 * mutation that stays valid is handled as the request it still is without touching the
 * thread under test.
 */
export function basePayloads(o: { team: string; appId: string; botUserId: string; responseUrl: () => string }): Sample[] {
  const channel = 'C_FUZZ';
  const ts = '1700000000.000100';
  const event = (name: string, e: Record<string, unknown>, eventId: string): Sample => ({
    kind: 'event',
    name,
    body: {
      token: 'verification-token',
      team_id: o.team,
      api_app_id: o.appId,
      event: e,
      type: 'event_callback',
      event_id: eventId,
      event_time: 1700000000,
      authorizations: [{ enterprise_id: null, team_id: o.team, user_id: o.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    },
  });
  const interaction = (name: string, p: Record<string, unknown>): Sample => ({
    kind: 'interaction',
    name,
    body: { api_app_id: o.appId, token: 'verification-token', response_url: o.responseUrl(), trigger_id: '1700000000.fuzz', ...p },
  });
  const user = { id: 'U_FUZZ', username: 'fuzz', name: 'fuzz', team_id: o.team };
  const team = { id: o.team, domain: 'fake' };
  const view = { id: 'V_FUZZ', type: 'modal', callback_id: 'deny_reason', private_metadata: '{}', state: { values: {} } };
  return [
    event('message reply', humanReply({ channel, thread_ts: ts, user: 'U_FUZZ', text: 'a reply in a thread that is no session' }), 'EvF1'),
    event('message top level', topLevelMessage({ channel, user: 'U_FUZZ', text: 'just talking' }), 'EvF2'),
    event('message dm', dmMessage({ channel: 'D_FUZZ', user: 'U_FUZZ', text: '' }), 'EvF3'),
    event('app_mention', appMention({ channel, user: 'U_FUZZ', text: '', botUserId: o.botUserId }), 'EvF4'),
    event('bot echo', botEcho({ channel, text: 'echo', ts, thread_ts: ts }), 'EvF5'),
    event('message_changed', messageChanged({ channel, ts, text: 'edited', thread_ts: ts }), 'EvF6'),
    event('message_deleted', messageDeleted({ channel, ts, thread_ts: ts }), 'EvF7'),
    event('reaction_added', reactionAdded({ user: 'U_FUZZ', reaction: 'octagonal_sign', channel, ts }), 'EvF8'),
    event('team_join', { type: 'team_join', user: { id: 'U_NEW', team_id: o.team }, event_ts: ts }, 'EvF9'),
    event('channel_created', { type: 'channel_created', channel: { id: 'C_NEW', name: 'new', creator: 'U_FUZZ' }, event_ts: ts }, 'EvF10'),
    { kind: 'event', name: 'url_verification', body: { token: 'verification-token', challenge: 'fuzz-challenge', type: 'url_verification' } },
    {
      kind: 'event',
      name: 'app_rate_limited',
      body: { token: 'verification-token', type: 'app_rate_limited', team_id: o.team, minute_rate_limited: 1700000000, api_app_id: o.appId },
    },
    {
      kind: 'command',
      name: 'slash command',
      body: {
        token: 'verification-token',
        team_id: o.team,
        team_domain: 'fake',
        channel_id: channel,
        channel_name: 'fuzz',
        user_id: 'U_FUZZ',
        user_name: 'fuzz',
        command: '/agent',
        text: '',
        api_app_id: o.appId,
        is_enterprise_install: 'false',
        response_url: o.responseUrl(),
        trigger_id: '1700000000.fuzz',
      },
    },
    interaction('stop button', blockAction({ user: 'U_FUZZ', channel, messageTs: ts, threadTs: ts, actionId: 'stop_session', value: 'x' })),
    interaction(
      'approve button',
      blockAction({ user: 'U_FUZZ', channel, messageTs: ts, threadTs: ts, actionId: 'approve_tool', value: 'sevt_fuzz' }),
    ),
    interaction('deny button', blockAction({ user: 'U_FUZZ', channel, messageTs: ts, threadTs: ts, actionId: 'deny_tool', value: 'sevt_fuzz' })),
    interaction(
      'answer button',
      blockAction({ user: 'U_FUZZ', channel, messageTs: ts, threadTs: ts, actionId: 'answer_question:0', value: '{"e":"sevt_fuzz","i":0}' }),
    ),
    interaction('unknown button', blockAction({ user: 'U_FUZZ', channel, messageTs: ts, actionId: 'something_else', value: 'x' })),
    interaction('view_submission', { type: 'view_submission', team, user, view, response_urls: [] }),
    interaction('view_closed', { type: 'view_closed', team, user, view, is_cleared: false }),
    interaction('block_suggestion', {
      type: 'block_suggestion',
      team,
      user,
      action_id: 'pick',
      block_id: 'b',
      value: 'fu',
      container: { type: 'view', view_id: 'V_FUZZ' },
    }),
    interaction('global shortcut', { type: 'shortcut', team, user, callback_id: 'do_thing', action_ts: ts }),
    interaction('message shortcut', {
      type: 'message_action',
      team,
      user,
      channel: { id: channel, name: 'fuzz' },
      callback_id: 'do_thing',
      message: { type: 'message', ts, text: 'x' },
      message_ts: ts,
    }),
    interaction('unknown type', { type: 'workflow_step_edit', team, user, callback_id: 'x' }),
  ];
}

type Json = unknown;

const HUGE = 'x'.repeat(256 * 1024);

function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function replacement(rand: () => number, current: Json): Json | typeof DELETE {
  const choices: Array<() => Json | typeof DELETE> = [
    () => DELETE,
    () => null,
    () => Math.floor(rand() * 1e6),
    () => rand() < 0.5,
    () => (typeof current === 'string' ? current + HUGE : HUGE),
    () => [current, current],
    () => [],
    () => ({}),
    () => 'a string',
    () => (current && typeof current === 'object' ? JSON.stringify(current) : { value: current }),
  ];
  return choices[Math.floor(rand() * choices.length)]!();
}

const DELETE = Symbol('delete');

/** 1–3 random changes anywhere in a copy of `body` (the whole body included, rarely). */
export function mutate(rand: () => number, body: Record<string, unknown>): unknown {
  let root: Json = structuredClone(body);
  const changes = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < changes; i += 1) {
    const all = paths(root);
    const path = all[Math.floor(rand() * all.length)]!;
    if (path.length === 0) {
      const r = replacement(rand, root);
      root = r === DELETE ? null : r;
      continue;
    }
    let parent = root as Record<string | number, Json>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
    const last = path.at(-1)!;
    const r = replacement(rand, parent[last]);
    if (r === DELETE) {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else parent[last] = r;
  }
  return root;
}

/**
 * The HTTP body Slack would send for this kind (events: JSON; commands: a form;
 * interactions: a form with `payload=`), or now and then the other encoding.
 */
export function encode(rand: () => number, kind: Kind, body: unknown): { body: string; contentType: string } {
  const form = 'application/x-www-form-urlencoded';
  const wrong = rand() < 0.1;
  if (kind === 'event' && !wrong) return { body: JSON.stringify(body), contentType: 'application/json' };
  if (kind === 'command' && !wrong && body && typeof body === 'object' && !Array.isArray(body)) {
    const fields = Object.entries(body as Record<string, unknown>).map(
      ([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')] as [string, string],
    );
    return { body: new URLSearchParams(fields).toString(), contentType: form };
  }
  if (wrong && kind !== 'interaction')
    return { body: new URLSearchParams({ payload: JSON.stringify(body) ?? 'null' }).toString(), contentType: form };
  if (wrong) return { body: JSON.stringify(body) ?? 'null', contentType: 'application/json' };
  return { body: new URLSearchParams({ payload: JSON.stringify(body) ?? 'null' }).toString(), contentType: form };
}
