import { afterEach, describe, expect, it } from 'vitest';
import { humanReply } from '../fakes/slack/index.js';
import { SIGNING_SECRET, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');

describe('Anthropic errors become plain sentences', () => {
  it.each([
    [401, 'authentication_error', "rejected the bot's API key"],
    [404, 'not_found_error', 'could not find the configured agent'],
    [429, 'rate_limit_error', 'rate limiting the bot'],
    [500, 'api_error', 'server error'],
  ])('session create answering %i', async (status, errorType, words) => {
    h = await startHarness();
    h.agents.failNext(
      { method: 'POST', path: '/v1/sessions' },
      { status, errorType, message: 'nope', headers: { 'x-should-retry': 'false' }, times: 3 },
    );
    await h.sender.command({ text: 'do it', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes(':x: Failed'));
    expect(rootText()).toContain(words);
    expect(rootText()).not.toContain('stop_session');
    const root = rootOf()!;
    await h.slack.waitFor(() => h.slack.thread('C1', root.ts).some((m) => m.text.includes(':warning:') && m.text.includes(words)));
    const line = h.logs.lines().find((l) => l.msg === 'could not create session');
    expect(line).toMatchObject({ status, requestId: expect.stringMatching(/^req_/), channel: 'C1', team: 'T1' });
  });

  it('a 409 on a reply to an ended session is said in the thread, and the session is not touched', async () => {
    h = await startHarness();
    await h.sender.command({ text: 'first', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    const root = rootOf()!;
    await h.bot.settled();
    const [session] = [...h.agents.sessions.values()];
    const eventsBefore = h.agents.received(session!.id).length;
    const requestsBefore = h.agents.requests.length;
    h.agents.failNext({ method: 'POST', path: /\/events$/ }, { status: 409, errorType: 'invalid_request_error', message: 'session is archived' });
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'more' }));
    await h.slack.waitFor(() =>
      h.slack.thread('C1', root.ts).some((m) => m.text.includes('did not reach the agent') && m.text.includes('can no longer take input')),
    );
    await h.bot.settled();
    // Not touched: the refused send is the only write to the API (no retry, no interrupt, no new
    // session, no archive), and the session's events are what they were.
    const writes = h.agents.requests
      .slice(requestsBefore)
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.method} ${r.path}`);
    expect(writes).toEqual([`POST /v1/sessions/${session!.id}/events`]);
    expect(h.agents.sessions.size).toBe(1);
    expect(h.agents.received(session!.id)).toHaveLength(eventsBefore);
  });

  it('session.error while retrying shows on the status line; an exhausted one is said in the thread and fails the turn', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.error('model_overloaded_error', 'Overloaded', 'retrying');
      await turn.gate('after-retry');
      await turn.error('model_overloaded_error', 'Overloaded', 'exhausted');
    };
    await h.sender.command({ text: 'go', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('retrying'));
    h.agents.release('after-retry');
    await h.slack.waitFor(() => rootText().includes(':x: Failed'));
    const root = rootOf()!;
    expect(
      h.slack.thread('C1', root.ts).filter((m) => m.ts !== root.ts && m.text.includes('The model is overloaded right now: Overloaded')),
    ).toHaveLength(1);
  });
});

describe('inbound requests Slack did not sign, or signed with garbage', () => {
  it('answers 401 to bad or stale signatures and forwards nothing', async () => {
    h = await startHarness();
    const body = 'command=%2Fagent&text=hi&team_id=T1&channel_id=C1&user_id=U1';
    const bad = await h.sender.raw(body, { contentType: 'application/x-www-form-urlencoded', badSignature: true });
    const stale = await h.sender.raw(body, { contentType: 'application/x-www-form-urlencoded', timestamp: Math.floor(Date.now() / 1000) - 600 });
    const missing = await h.sender.raw(body, { contentType: 'application/x-www-form-urlencoded', signature: null });
    expect([bad.status, stale.status, missing.status]).toEqual([401, 401, 401]);
    await h.bot.settled();
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
    expect(h.agents.sessions.size).toBe(0);
  });

  it('survives a signed JSON null body (which crashes a bare Bolt receiver) and keeps serving', async () => {
    h = await startHarness();
    const res = await h.sender.raw('null', { contentType: 'application/json' });
    expect(res.status).toBe(400);
    const form = await h.sender.raw('payload=null', { contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(400);
    expect(h.logs.lines().some((l) => l.msg === 'rejected inbound body before Bolt')).toBe(true);
    const ok = await h.sender.command({ text: 'still alive?', user: 'U1', channel: 'C1' });
    expect(ok.status).toBe(200);
    await h.slack.waitFor(() => rootOf());
    // The 400s were for signed bodies: the same body unsigned is refused before it is read.
    expect((await h.sender.raw('null', { contentType: 'application/json', badSignature: true })).status).toBe(401);
  });

  it('serves /healthz and 404s unknown paths', async () => {
    h = await startHarness();
    const health = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    expect((await fetch(`http://127.0.0.1:${h.bot.port}/nope`)).status).toBe(404);
  });
});

describe('logs', () => {
  it('are JSON lines with ids as fields, and never contain the tokens', async () => {
    h = await startHarness();
    await h.sender.command({ text: 'log me', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    const created = h.logs.lines().find((l) => l.msg === 'session created');
    expect(created).toMatchObject({ team: 'T1', channel: 'C1', thread: expect.any(String), sessionId: expect.stringMatching(/^sesn_/) });
    expect(h.logs.text()).not.toContain('xoxb-test');
    expect(h.logs.text()).not.toContain('test-key');
    expect(h.logs.text()).not.toContain(SIGNING_SECRET);
  });
});
