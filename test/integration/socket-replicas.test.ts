// Two real bots in Socket Mode on one Redis store, in one process: each opens its own
// connection to the fake Slack, which hands every envelope to one of the app's open
// connections in turn (as Slack spreads them), so work for a thread lands at either
// replica. One follows each session (holds its lease); the other relays, dedupes and,
// when the first dies, takes the thread over.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBot, type RunningBot } from '../../src/bot.js';
import { blockAction, humanReply } from '../fakes/slack/index.js';
import { agentText, startHarness, TEST_BOT_OPTIONS, type Harness } from '../support/harness.js';
import { memoryLogger } from '../support/log-sink.js';

/** Long enough that a loaded test machine does not miss renewals; the takeover waits about this. */
const LEASE_MS = 1500;
let h: Harness | undefined;
let b: RunningBot | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
  await h?.close();
  h = undefined;
});

/**
 * Bot A (the harness's) and bot B in Socket Mode on one store namespace and the same fakes.
 * A connects first, so the fake's connection 1 is A's and connection 2 is B's.
 */
async function twoSocketReplicas() {
  const storeNamespace = `test-${randomUUID()}`;
  h = await startHarness({ STORE_URL: 'redis://127.0.0.1:6379', LEASE_MS: String(LEASE_MS) }, { socketMode: true, storeNamespace });
  b = await startBot(h.env, memoryLogger('info').log, { ...TEST_BOT_OPTIONS, storeNamespace });
  return { h, b };
}

const rootOf = (harness: Harness) => harness.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = (harness: Harness) => JSON.stringify(rootOf(harness)?.blocks ?? '');
const userMessages = (harness: Harness, sessionId: string, text: string) =>
  harness.agents.received(sessionId).filter((e) => e.type === 'user.message' && JSON.stringify(e).includes(text));
/**
 * One more connection of the app, as a replica's: it drops (no ack, no close frame) as soon
 * as an envelope arrives, as a replica killed while it reads one.
 */
async function droppingConnection(harness: Harness): Promise<WebSocket> {
  const before = harness.slack.socket.connected();
  const res = await fetch(`${harness.slack.apiUrl}apps.connections.open`, {
    method: 'POST',
    headers: { authorization: `Bearer ${harness.slack.appToken}` },
  });
  const { url } = (await res.json()) as { url: string };
  const ws = new WebSocket(url);
  ws.on('message', (data: Buffer) => {
    if ('envelope_id' in JSON.parse(data.toString('utf8'))) ws.terminate();
  });
  await harness.slack.waitFor(() => harness.slack.socket.connected() > before);
  return ws;
}

/** The fake's connection number each envelope went out on, in order. */
const connections = (harness: Harness) => harness.slack.socket.deliveries.map((d) => d.connection);

describe('two replicas in Socket Mode on one Redis', () => {
  it('each opens its own connection; a command, a steer, its redelivery and a Stop, spread over both, each act once', async () => {
    const { h, b } = await twoSocketReplicas();
    expect(h.slack.socket.connected()).toBe(2);
    expect(h.slack.callsTo('apps.connections.open')).toHaveLength(2);
    h.agents.onTurn = async (turn) => {
      await turn.message(`Working on: ${turn.text}`);
      await turn.gate(turn.text.includes('long') ? 'steered' : 'never');
    };

    // Connection 1 (A): A starts the session and follows it.
    await h.socket.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Working on: a long task'));
    const session = [...h.agents.sessions.values()][0]!;
    await h.slack.waitFor(() => rootText(h).includes('stop_session'));

    // Connection 2 (B): the steer reaches B, which does not follow the session.
    const steer = humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'also check the tests' });
    const first = await h.socket.event(steer);
    await h.agents.waitFor(() => userMessages(h, session.id, 'also check the tests').length > 0);
    // Connection 1 (A): Slack delivers the same event again (its retry), now to A.
    await h.socket.event(steer, { eventId: first.eventId, retryAttempt: 1, retryReason: 'timeout' });
    h.agents.release('steered');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Working on: also check the tests'));
    await h.slack.waitFor(() => rootText(h).includes('stop_session'));
    // Connection 2 (B): Stop, clicked on the root card, at B again.
    const stop = await h.socket.action(
      blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts, actionId: 'stop_session', value: `T1:C1:${root.ts}` }),
    );
    expect(stop.payload).toEqual({});
    await h.slack.waitFor(() => rootText(h).includes('Stopped by <@U1>'));
    await h.bot.settled();
    await b.settled();

    expect(connections(h)).toEqual([1, 2, 1, 2]);
    expect(h.agents.sessions.size).toBe(1);
    expect(h.agents.received(session.id).map((e) => e.type)).toEqual(['user.message', 'user.message', 'user.interrupt']);
    expect(userMessages(h, session.id, 'also check the tests')).toHaveLength(1);
    // B carried nothing out itself: what reached it went to A, which follows the session.
    expect(b.bridge.liveRunners).toBe(0);
    expect(h.slack.messages('C1').filter((m) => !m.thread_ts && m.bot_id)).toHaveLength(1);
  });

  it('when the replica following a session dies mid-turn, envelopes reach the others alone; a steer lost with a dying connection comes again to the other replica, which takes the thread over: the steer reaches the session once and every word shows once, in order', async () => {
    const { h, b } = await twoSocketReplicas();
    h.agents.onTurn = async (turn) => {
      if (!turn.text.includes('long')) return void (await turn.message(`Next turn: ${turn.text}`));
      await turn.message('Part one.');
      await turn.gate('holder-died');
      await turn.message('Part two.');
    };
    await h.socket.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Part one.'));
    await h.bot.settled();
    const session = [...h.agents.sessions.values()][0]!;

    // A dies: it stops renewing and writing, and its connection closes.
    await h.bot.kill();
    await h.slack.waitFor(() => h.slack.socket.connected() === 1);
    h.agents.release('holder-died');
    // Connection 3 drops the steer unread; Slack delivers it again on the only one left, B's.
    // B waits out A's lease and claims the thread (unless its scan for lapsed leases took it first).
    await droppingConnection(h);
    const steer = await h.socket.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'then the docs' }));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Next turn: then the docs'), 4 * LEASE_MS + 10_000);
    await h.slack.waitFor(() => rootText(h).includes('Done'));
    await b.settled();

    expect(connections(h)).toEqual([1, 3, 2]);
    expect(h.slack.socket.envelopes.slice(1).map((e) => [e.payload.event_id, e.retry_attempt, e.retry_reason])).toEqual([
      [steer.eventId, 0, ''],
      [steer.eventId, 1, 'timeout'],
    ]);
    expect(h.slack.socket.closes.at(-1)?.code).toBe(1006);
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Part one.\n\nPart two.\n\nNext turn: then the docs');
    expect(userMessages(h, session.id, 'then the docs')).toHaveLength(1);
    expect(h.agents.sessions.size).toBe(1);
  });
});
