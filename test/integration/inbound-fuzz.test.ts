// Every inbound request kind, malformed every which way, against the real bot (Bolt's
// receivers behind InboundEdge) while a normal turn runs: Slack must never see a 5xx or a
// missing ack, the process must not throw, and the turn must come out word for word.
import { afterEach, describe, expect, it } from 'vitest';
import type { EnvelopeType } from '../fakes/slack/index.js';
import { WORDS } from '../../src/slack/inbound.js';
import { basePayloads, encode, mutate, rng, type Sample } from '../support/fuzz.js';
import { agentText, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const SEED = 8_2026;
const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');
const PART_ONE = 'Part one of the normal turn.';
const PART_TWO = 'Part two, written after the storm of bad requests.';

/** A turn held open at a gate while the requests arrive; other sessions (valid fuzz) answer at once. */
async function startNormalTurn(send: () => Promise<unknown>): Promise<string> {
  h.agents.onTurn = async (turn) => {
    if (!turn.text.includes('the normal turn')) return void (await turn.message('ok'));
    await turn.message(PART_ONE);
    await turn.gate('after-fuzz');
    await turn.message(PART_TWO);
  };
  await send();
  const root = await h.slack.waitFor(() => rootOf());
  await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes(PART_ONE));
  return root.ts;
}

async function finishNormalTurn(rootTs: string): Promise<void> {
  h.agents.release('after-fuzz');
  await h.slack.waitFor(() => rootText().includes('Done'));
  await h.bot.settled();
  expect(agentText(h.slack, 'C1', rootTs)).toBe(`${PART_ONE}\n\n${PART_TWO}`);
  const normal = [...h.agents.sessions.values()].filter((s) => s.metadata.slack_channel === 'C1');
  expect(normal).toHaveLength(1);
  expect(h.agents.received(normal[0]!.id).filter((e) => e.type === 'user.message')).toHaveLength(1);
}

function samplesFor(count: number, seed: number): { rand: () => number; samples: Array<{ base: Sample; body: unknown }> } {
  const rand = rng(seed);
  const bases = basePayloads({ team: h.slack.team, appId: h.slack.appId, botUserId: h.slack.botUserId, responseUrl: () => h.slack.responseUrl() });
  // Each real payload once as it is, then seeded mutations of them.
  const samples = bases.map((base) => ({ base, body: base.body as unknown }));
  for (let i = samples.length; i < count; i += 1) {
    const base = bases[Math.floor(rand() * bases.length)]!;
    samples.push({ base, body: mutate(rand, base.body) });
  }
  return { rand, samples };
}

async function catchingRejections<T>(run: (rejections: unknown[]) => Promise<T>): Promise<T> {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    return await run(rejections);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
}

const histogram = (statuses: number[]) => Object.fromEntries([...new Set(statuses)].sort().map((s) => [s, statuses.filter((x) => x === s).length]));

describe('inbound fuzz over HTTP', () => {
  it('300 signed malformed requests of every kind, and 2 oversized ones, during a turn: no 5xx, no unhandled rejection, the thread intact', async () => {
    await catchingRejections(async (rejections) => {
      h = await startHarness();
      const rootTs = await startNormalTurn(() => h.sender.command({ text: 'the normal turn', user: 'U1', channel: 'C1' }));
      const { rand, samples } = samplesFor(300, SEED);
      const statuses: number[] = [];
      for (let i = 0; i < samples.length; i += 10) {
        const batch = samples.slice(i, i + 10).map(({ base, body }) => {
          const encoded = encode(rand, base.kind, body);
          return h.sender.raw(encoded.body, { contentType: encoded.contentType });
        });
        for (const res of await Promise.all(batch)) statuses.push(res.status);
      }
      // Over the 4 MB body limit (Slack's own payloads stay far below it).
      const oversized = JSON.stringify({ type: 'event_callback', event: { type: 'message', text: 'y'.repeat(5 * 1024 * 1024) } });
      for (const res of await Promise.all([h.sender.raw(oversized), h.sender.raw(oversized)])) statuses.push(res.status);

      const seen = histogram(statuses);
      console.log(`inbound fuzz (HTTP, seed ${SEED}): ${statuses.length} requests, status codes ${JSON.stringify(seen)}`);
      expect(statuses).toHaveLength(302);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      // Signed: only an unparsable or non-object body (400) and the oversized ones (413) are refused.
      expect(
        Object.keys(seen)
          .map(Number)
          .every((s) => s === 200 || s === 400 || s === 413),
      ).toBe(true);
      expect(seen[413]).toBe(2);

      await finishNormalTurn(rootTs);
      expect((await fetch(`http://127.0.0.1:${h.bot.port}/healthz`)).status).toBe(200);
      expect(rejections).toEqual([]);
    });
  }, 120_000);
});

describe('inbound fuzz over Socket Mode', () => {
  it('100 malformed envelopes of every kind, and frames of unknown types, during a turn: each acked, no unhandled rejection, the thread intact', async () => {
    await catchingRejections(async (rejections) => {
      h = await startHarness({}, { socketMode: true });
      const rootTs = await startNormalTurn(() => h.socket.command({ text: 'the normal turn', user: 'U1', channel: 'C1' }));
      const { samples } = samplesFor(100, SEED + 1);
      const envelopeType = (s: Sample): EnvelopeType => (s.kind === 'event' ? 'events_api' : s.kind === 'command' ? 'slash_commands' : 'interactive');
      const frames = samples.map(({ base, body }) => ({ type: envelopeType(base), payload: body }));
      // Envelope types Slack does not send; some are names of the client's own events.
      for (const type of ['error', 'ws_message', 'slack_event', 'close', 'something_new']) frames.push({ type: type as EnvelopeType, payload: {} });

      let acked = 0;
      for (let i = 0; i < frames.length; i += 10) {
        const batch = frames.slice(i, i + 10).map((f) => h.slack.socket.send(f.type, f.payload as Record<string, unknown>));
        const results = await Promise.allSettled(batch);
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        acked += results.length;
      }
      console.log(`inbound fuzz (Socket Mode, seed ${SEED + 1}): ${frames.length} envelopes, ${acked} acked`);
      expect(acked).toBe(105);
      expect(h.slack.socket.connected()).toBe(1);

      await finishNormalTurn(rootTs);
      expect(rejections).toEqual([]);
    });
  }, 120_000);
});

describe('requests the bot cannot handle get an answer', () => {
  it('over Socket Mode, a command it does not know is answered in the ack, and a click it cannot read by response_url', async () => {
    h = await startHarness({}, { socketMode: true });
    const ack = await h.socket.command({ text: 'hi', command: '/other', user: 'U1' });
    expect(ack.payload).toEqual({ response_type: 'ephemeral', text: WORDS.unknownCommand });
    const click = await h.socket.action({
      type: 'block_actions',
      user: { id: 'U1' },
      actions: [{ action_id: 'stop_session', value: null }],
      channel: null,
    });
    expect(click.payload).toEqual({});
    await h.bot.settled();
    expect(h.slack.responseUrlPosts.map((p) => p.body.text)).toEqual([WORDS.unreadableClick]);
  });

  it('a command or click it cannot read or does not know is acknowledged and the person is told privately', async () => {
    h = await startHarness();
    const form = 'application/x-www-form-urlencoded';
    const team = { id: h.slack.team, domain: 'fake' };
    const user = { id: 'U1', team_id: h.slack.team };

    const other = await h.sender.command({ text: 'hi', command: '/other', user: 'U1' });
    expect(other).toMatchObject({ status: 200, json: { response_type: 'ephemeral', text: WORDS.unknownCommand } });
    const noUser = await h.sender.raw(new URLSearchParams({ command: '/agent', text: 'hi', team_id: h.slack.team, channel_id: 'C1' }).toString(), {
      contentType: form,
    });
    expect(noUser).toMatchObject({ status: 200, json: { response_type: 'ephemeral', text: WORDS.unreadableCommand } });

    const unreadable = await h.sender.action({ type: 'block_actions', team, user: null, actions: [{ action_id: 'stop_session' }] });
    const unknown = await h.sender.action({
      type: 'block_actions',
      team,
      user,
      channel: { id: 'C1' },
      actions: [{ action_id: 'gone_button', value: 'x' }],
    });
    const messageShortcut = await h.sender.action({
      type: 'message_action',
      team,
      user,
      callback_id: 'x',
      channel: { id: 'C1' },
      message: { ts: '1.1' },
    });
    // As Slack sends it: a global shortcut carries a trigger but no channel and no response_url.
    const shortcut = { type: 'shortcut', team, user, callback_id: 'x', trigger_id: h.slack.mintTrigger('U1'), api_app_id: h.slack.appId };
    const globalShortcut = await h.sender.raw(new URLSearchParams({ payload: JSON.stringify(shortcut) }).toString(), { contentType: form });
    expect([unreadable.status, unknown.status, messageShortcut.status, globalShortcut.status]).toEqual([200, 200, 200, 200]);
    await h.bot.settled();
    expect(h.slack.responseUrlPosts.map((p) => p.body)).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: WORDS.unreadableClick },
      { response_type: 'ephemeral', replace_original: false, text: WORDS.unknownButton },
      { response_type: 'ephemeral', replace_original: false, text: WORDS.noShortcuts },
    ]);
    // A global shortcut has no channel and no response_url: a small modal says it.
    expect(h.slack.callsTo('views.open')).toMatchObject([{ status: 200, args: { view: { blocks: [{ text: { text: WORDS.noShortcuts } }] } } }]);
    expect(h.agents.sessions.size).toBe(0);
  });

  it('events, options, view closures and Slack’s own checks are acknowledged with the right body and logged at debug with their kind', async () => {
    h = await startHarness();
    const event = (e: unknown) =>
      h.sender.raw(JSON.stringify({ type: 'event_callback', team_id: h.slack.team, event_id: `Ev${Math.random()}`, event: e }));
    const results = {
      nullEvent: await event(null),
      stringEvent: await event('message'),
      userless: await event({ type: 'reaction_added', reaction: 'octagonal_sign', user: null, item: 'C1' }),
      unknownEvent: await event({ type: 'team_join', user: { id: 'U9' } }),
      challenge: await h.sender.raw(JSON.stringify({ type: 'url_verification', challenge: 'abc', token: 't' })),
      rateLimited: await h.sender.raw(JSON.stringify({ type: 'app_rate_limited', team_id: h.slack.team, minute_rate_limited: 1 })),
      options: await h.sender.action({ type: 'block_suggestion', action_id: 'a', value: 'v', user: { id: 'U1' } }),
      closed: await h.sender.action({ type: 'view_closed', user: { id: 'U1' }, view: { id: 'V1', callback_id: 'deny_reason' } }),
      nullPayload: await h.sender.raw('payload=null', { contentType: 'application/x-www-form-urlencoded' }),
      notJson: await h.sender.raw('{"type":', { contentType: 'application/json' }),
    };
    expect(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.status]))).toEqual({
      nullEvent: 200,
      stringEvent: 200,
      userless: 200,
      unknownEvent: 200,
      challenge: 200,
      rateLimited: 200,
      options: 200,
      closed: 200,
      nullPayload: 400,
      notJson: 400,
    });
    expect(results.challenge.json).toEqual({ challenge: 'abc' });
    expect(results.options.json).toEqual({ options: [] });
    const acked = h.logs.lines().filter((l) => l.msg === 'inbound request acknowledged and not handled');
    expect(acked.map((l) => [l.level, l.kind])).toEqual([
      ['debug', 'event:unreadable'],
      ['debug', 'event:unreadable'],
      ['debug', 'event:reaction_added'],
      ['debug', 'event:team_join'],
      ['debug', 'url_verification'],
      ['warn', 'app_rate_limited'],
      ['debug', 'options:block_suggestion'],
      ['debug', 'view_closed'],
    ]);
  });
});
