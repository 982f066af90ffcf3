// The real bot in Socket Mode (SLACK_APP_TOKEN set, no signing secret): Bolt's
// SocketModeReceiver and the undici WebSocket against the fake's apps.connections.open
// and WebSocket endpoint. Inbound traffic arrives as envelopes; the bot acks on the socket.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBoltApp } from '../../src/slack/bolt-app.js';
import { blockAction, humanReply, startFakeSlack } from '../fakes/slack/index.js';
import { botReplies, startHarness, type Harness } from '../support/harness.js';
import { memoryLogger } from '../support/log-sink.js';

let h: Harness;

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');
const replyTexts = (rootTs: string) => botReplies(h.slack, 'C1', rootTs).map((m) => m.markdown_text ?? m.text);

describe('the bot in Socket Mode', () => {
  beforeEach(async () => {
    h = await startHarness({}, { socketMode: true });
  });
  afterEach(async () => {
    await h?.close();
  });

  it('connects with the app token before it is ready, and keeps /healthz on PORT but no HTTP Slack endpoint', async () => {
    expect(h.bot.mode).toBe('socket');
    // startBot resolved after `hello`: the connection is already there.
    expect(h.slack.socket.connected()).toBe(1);
    expect(h.slack.callsTo('apps.connections.open')).toMatchObject([{ status: 200, response: { ok: true } }]);

    const health = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    // Without a signing secret nothing may accept Slack payloads over HTTP.
    const events = await fetch(`http://127.0.0.1:${h.bot.port}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'url_verification', challenge: 'x' }),
    });
    expect(events.status).toBe(404);
  });

  it('/agent over the socket: acked, root card, agent reply; a thread reply reaches the session as a second user.message', async () => {
    const ack = await h.socket.command({ text: 'hello over the socket', user: 'U1', channel: 'C1' });
    expect(ack.payload).toEqual({});
    expect(ack.ms).toBeLessThan(3000);

    const root = await h.slack.waitFor(() => rootOf());
    expect(rootText()).toContain('<@U1> asked the agent');
    await h.slack.waitFor(() => replyTexts(root.ts).includes('You said: hello over the socket'));
    await h.slack.waitFor(() => rootText().includes('Done'));
    const session = [...h.agents.sessions.values()][0]!;
    expect(session.metadata.slack_channel).toBe('C1');

    const steer = humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U2', text: 'and one more thing' });
    const evAck = await h.socket.event(steer);
    expect(evAck.payload).toEqual({});
    await h.agents.waitFor(() => h.agents.received(session.id).filter((e) => e.type === 'user.message').length === 2);
    expect(h.agents.received(session.id).map((e) => [e.type, JSON.stringify(e.content)])).toEqual([
      ['user.message', expect.stringContaining('hello over the socket')],
      ['user.message', expect.stringContaining('and one more thing')],
    ]);
    await h.slack.waitFor(() => replyTexts(root.ts).some((t) => t.includes('and one more thing')));
    expect(h.agents.sessions.size).toBe(1);

    // Redelivery of the same event_id (Slack's retry_attempt) is handled once.
    await h.socket.event(steer, { eventId: evAck.eventId, retryAttempt: 1, retryReason: 'timeout' });
    await h.bot.settled();
    expect(h.agents.received(session.id)).toHaveLength(2);
    expect(h.slack.socket.envelopes.at(-1)).toMatchObject({ type: 'events_api', retry_attempt: 1, retry_reason: 'timeout' });
  });

  it('carries the ack body back on the socket: an empty /agent gets the usage text', async () => {
    const ack = await h.socket.command({ text: '  ', user: 'U1', channel: 'C1' });
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('Usage') });
    expect(h.agents.sessions.size).toBe(0);
  });

  it('a Stop button click over the socket is acked and interrupts the running session', async () => {
    h.agents.onTurn = async (turn) => {
      await turn.message('Starting a long job.');
      await turn.gate('never');
    };
    await h.socket.command({ text: 'long job', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
    await h.slack.waitFor(() => rootText().includes('stop_session'));

    const ack = await h.socket.action(
      blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts, actionId: 'stop_session', value: `T1:C1:${root.ts}` }),
    );
    expect(ack.payload).toEqual({});
    expect(ack.ms).toBeLessThan(3000);
    await h.slack.waitFor(() => rootText().includes('Stopped by <@U1>'));
    expect(h.agents.received(session.id).map((e) => e.type)).toEqual(['user.message', 'user.interrupt']);
  });

  it('reconnects when Slack refreshes the connection, through a failing apps.connections.open', async () => {
    h.slack.failNext('apps.connections.open', { status: 500 });
    h.slack.socket.disconnect('refresh_requested');
    // Bolt waits 5 s before reconnecting; the 500 is retried by the connection's own policy.
    await h.slack.waitFor(() => h.slack.callsTo('apps.connections.open').length === 3 && h.slack.socket.connected() === 1, 20_000);
    expect(h.slack.callsTo('apps.connections.open').map((c) => c.status)).toEqual([200, 500, 200]);
    expect(h.slack.socket.closes).toEqual([{ code: 1000, reason: '' }]);

    const ack = await h.socket.command({ text: 'still there?', user: 'U1', channel: 'C1' });
    expect(ack.payload).toEqual({});
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => replyTexts(root.ts).includes('You said: still there?'));
  }, 30_000);

  it('close() ends the connection with a normal close frame before it resolves, and does not reconnect', async () => {
    await h.slack.waitFor(() => h.slack.socket.pings > 0); // the client's heartbeat, answered by the fake
    await h.bot.close();
    expect(h.slack.socket.connected()).toBe(0);
    await h.slack.waitFor(() => h.slack.socket.closes.length === 1);
    expect(h.slack.socket.closes).toEqual([{ code: 1000, reason: '' }]);
    expect(h.slack.callsTo('apps.connections.open')).toHaveLength(1);
    await expect(h.slack.socket.send('events_api', {})).rejects.toThrow(/no open Socket Mode connection/);
  });
});

describe('createBoltApp in Socket Mode', () => {
  const boltFor = (fake: Awaited<ReturnType<typeof startFakeSlack>>, appToken = fake.appToken) =>
    createBoltApp({
      botToken: 'xoxb-test',
      appToken,
      botId: fake.botId,
      botUserId: fake.botUserId,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
      log: memoryLogger('silent').log,
    });

  it('stop() resolves only after the close handshake (Bolt’s app.stop() resolves before it)', async () => {
    const fake = await startFakeSlack();
    try {
      const bolt = boltFor(fake);
      expect(bolt.mode).toBe('socket');
      await bolt.app.start();
      expect(fake.socket.connected()).toBe(1);
      await bolt.stop();
      expect(fake.socket.connected()).toBe(0);
      await fake.waitFor(() => fake.socket.closes.length === 1);
      expect(fake.socket.closes).toEqual([{ code: 1000, reason: '' }]);
    } finally {
      await fake.close();
    }
  });

  it('fails to start with invalid_auth when the app token is wrong', async () => {
    const fake = await startFakeSlack();
    try {
      await expect(boltFor(fake, 'xapp-wrong').app.start()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
      expect(fake.callsTo('apps.connections.open')).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});
