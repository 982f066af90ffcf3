// Two real bots (two Bolt apps, two WebClients, two SDK clients) on one Redis store and
// the same fake Slack and fake Managed Agents, in one process: one follows a session
// (holds its lease), the other takes intents for it and takes it over when the first dies.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot, type RunningBot } from '../../src/bot.js';
import { openStore } from '../../src/store/open-store.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import { appMention, blockAction, humanReply, SlackSender } from '../fakes/slack/index.js';
import { agentText, botReplies, occurrences, SIGNING_SECRET, startHarness, TEST_BOT_OPTIONS, type Harness } from '../support/harness.js';
import { memoryLogger } from '../support/log-sink.js';
import { replyWords } from '../../src/words/replies.js';
import { Relay } from '../../src/replicas/relay.js';
import { coordinationPrefix, openRedis } from '../../src/store/redis/connection.js';

/**
 * Long enough that a loaded test machine does not miss renewals; the takeover waits about
 * this. `TEST_LEASE_MS=15000` measures the hand-over at the default lease time.
 */
const LEASE_MS = Number(process.env.TEST_LEASE_MS ?? 1500);
let h: Harness | undefined;
let b: RunningBot | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
  await h?.close();
  h = undefined;
});

/** Bot A (the harness's) and bot B on the same store namespace and fakes. */
async function twoReplicas(leaseMs = LEASE_MS) {
  const storeNamespace = `test-${randomUUID()}`;
  h = await startHarness({ STORE_URL: 'redis://127.0.0.1:6379', LEASE_MS: String(leaseMs) }, { storeNamespace });
  const logsB = memoryLogger('debug');
  b = await startBot(h.env, logsB.log, { ...TEST_BOT_OPTIONS, storeNamespace });
  const senderB = new SlackSender({ url: `http://127.0.0.1:${b.port}/slack/events`, signingSecret: SIGNING_SECRET, fake: h.slack });
  return { h, b, senderB, logsB, storeNamespace };
}

const rootOf = (harness: Harness) => harness.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = (harness: Harness) => JSON.stringify(rootOf(harness)?.blocks ?? '');
const userMessages = (harness: Harness, sessionId: string, text: string) =>
  harness.agents.received(sessionId).filter((e) => e.type === 'user.message' && JSON.stringify(e).includes(text));

describe('two replicas on one Redis', () => {
  it('a reply that reaches the replica not following the session is relayed to the one that does, and reaches the session once', async () => {
    const { h, b, senderB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      if (!turn.text.includes('long')) return void (await turn.message(`Next turn: ${turn.text}`));
      await turn.message('Working on it.');
      await turn.gate('steered');
      await turn.message('First part done.');
    };
    await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Working on it.'));
    const session = [...h.agents.sessions.values()][0]!;

    await senderB.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'also check the tests' }));
    await h.agents.waitFor(() => userMessages(h, session.id, 'also check the tests').length > 0);
    h.agents.release('steered');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Next turn: also check the tests'));
    await h.slack.waitFor(() => rootText(h).includes('Done'));
    await h.bot.settled();
    await b.settled();

    expect(userMessages(h, session.id, 'also check the tests')).toHaveLength(1);
    expect(occurrences(agentText(h.slack, 'C1', root.ts), 'Next turn: also check the tests')).toBe(1);
    // B carried nothing out itself: it never followed the session.
    expect(b.bridge.liveRunners).toBe(0);
    // The receipt on the reply came from the replica that sent it to the agent.
    expect(h.slack.callsTo('reactions.add').length).toBeGreaterThan(0);
  });

  it('a reply stored for the holder whose wake-up never reached it (its relay subscriber was down) still reaches the session once, while the holder lives', async () => {
    const { h, storeNamespace } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      if (!turn.text.includes('long')) return void (await turn.message(`Next turn: ${turn.text}`));
      await turn.message('Working on it.');
      await turn.gate('steered');
      await turn.message('First part done.');
    };
    await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Working on it.'));
    const session = [...h.agents.sessions.values()][0]!;
    // What a sender leaves when its wake-up is published while the holder's subscriber is disconnected: stored, never heard.
    const client = await openRedis('redis://127.0.0.1:6379');
    try {
      const sender = new Relay(client, coordinationPrefix(storeNamespace), 'a-sender-that-went-away', memoryLogger('debug').log);
      const ref = { team: 'T1', channel: 'C1', threadTs: root.ts };
      await sender.store({ kind: 'steer', ref, msg: { user: 'U1', text: 'also check the tests', ts: '9.1' } });
      await h.agents.waitFor(() => userMessages(h, session.id, 'also check the tests').length > 0);
    } finally {
      await client.close();
    }
    h.agents.release('steered');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Next turn: also check the tests'));
    await h.slack.waitFor(() => rootText(h).includes('Done'));
    await h.bot.settled();
    expect(userMessages(h, session.id, 'also check the tests')).toHaveLength(1);
  });

  it('one event delivered to both replicas starts one session', async () => {
    const { h, senderB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      await turn.message(`Answer: ${turn.text}`);
    };
    const mention = appMention({ channel: 'C1', user: 'U1', text: 'hello both' });
    const thread = String(mention.ts);
    // The same delivery (one event id) sent to each replica, as a redelivery or a load balancer may.
    await Promise.all([h.sender.event(mention, { eventId: 'Ev1' }), senderB.event(mention, { eventId: 'Ev1' })]);
    await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', thread).includes('Answer:'));
    await h.bot.settled();
    await b!.settled();
    expect(h.agents.sessions.size).toBe(1);
    expect(botReplies(h.slack, 'C1', thread).filter((m) => (m.markdown_text ?? '').includes('Answer:'))).toHaveLength(1);
  });

  it('when the replica following a session dies mid-turn, the other takes it over within the lease time and the thread shows every word once, in order', async () => {
    const { h, b, logsB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      await turn.message('Part one.');
      await turn.gate('holder-died');
      await turn.toolUse('bash', { command: 'make' }, { text: 'built' });
      await turn.message('Part two.');
      await turn.gate('taken-over');
      await turn.message('Part three.');
    };
    await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Part one.'));
    await h.bot.settled();
    const session = [...h.agents.sessions.values()][0]!;

    // A dies: it stops renewing and writing and gives nothing back. The agent goes on meanwhile.
    const killedAt = Date.now();
    await h.bot.kill();
    h.agents.release('holder-died');
    await h.agents.waitFor(() => h.agents.events(session.id).some((e) => e.type === 'agent.message' && JSON.stringify(e).includes('Part two.')));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Part two.'), 4 * LEASE_MS + 10_000);
    const handOverMs = Date.now() - killedAt;
    const takeover = await logsB.waitFor((l) => l.msg === 'took over a thread whose replica stopped renewing its lease');
    expect(takeover.thread).toBe(`T1:C1:${root.ts}`);
    expect((await b.metrics.leaseHandovers.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { how: 'lapsed' } })]);

    h.agents.release('taken-over');
    await h.slack.waitFor(() => rootText(h).includes('Done'));
    await b.settled();
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Part one.\n\nPart two.\n\nPart three.');
    expect(JSON.stringify(botReplies(h.slack, 'C1', root.ts).map((m) => m.blocks))).toContain(':white_check_mark: *bash*');
    expect(h.agents.sessions.size).toBe(1);
    // A was settled when it died: everything it posted is recorded (the root card under `root`, whatever its key in Slack).
    expect(logsB.lines().filter((l) => l.msg === 'adopted posts that were made but not recorded')).toEqual([]);
    // Reported, not asserted against a threshold: the lease time plus a scan and the catch-up.
    console.info(`hand-over: ${handOverMs} ms from kill to the taken-over thread showing new words (LEASE_MS=${LEASE_MS}, fake Slack and agent)`);
  });

  it('a replica shut down mid-turn (a deploy) hands its thread over: the other takes it at its next scan, without waiting out the lease', async () => {
    // A lease far longer than the test may wait: only a hand-over lets B in in time.
    const { h, b, logsB } = await twoReplicas(10 * 60_000);
    h.agents.onTurn = async (turn) => {
      await turn.message('Before the deploy.');
      await turn.gate('deployed');
      await turn.message('After the deploy.');
    };
    await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Before the deploy.'));
    await h.bot.settled();

    await h.bot.close();
    h.agents.release('deployed');
    await logsB.waitFor((l) => l.msg === 'took over a thread whose replica stopped renewing its lease' && l.thread === `T1:C1:${root.ts}`);
    await h.slack.waitFor(() => rootText(h).includes('Done'));
    await b.settled();
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Before the deploy.\n\nAfter the deploy.');
    expect((await b.metrics.leaseHandovers.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { how: 'handed_over' } })]);
  });

  it('a start a replica that died was making is finished by one of the others, once; one a live replica is making is left to it', async () => {
    const { h, b, storeNamespace } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      await turn.message(`Answer: ${turn.text}`);
    };
    const holderA = String((await h.logs.waitFor((l) => l.msg === 'replica on a shared Redis store')).replica);
    const kv = await openStore('redis://127.0.0.1:6379', storeNamespace);
    try {
      const records = new ThreadRecords(kv);
      const request = (prompt: string) => ({ team: 'T1', channel: 'C1', user: 'U1', prompt });
      // The live replica's start first: a pass that finishes the other has looked at it before.
      await records.addPendingStart({ id: randomUUID(), at: Date.now(), request: request('still being made'), by: holderA });
      // What a replica killed between storing a start and writing its thread record leaves.
      await records.addPendingStart({ id: randomUUID(), at: Date.now(), request: request('left behind'), by: 'a-replica-that-died' });
      const roots = (prompt: string) => h.slack.messages('C1').filter((m) => !m.thread_ts && m.bot_id && JSON.stringify(m.blocks).includes(prompt));
      const root = await h.slack.waitFor(() => roots('left behind')[0]);
      await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Answer: left behind'));
      // Closing waits for a pass in flight, so whatever a pass did is in Slack now.
      await b.close();
      await h.bot.close();
      expect(roots('left behind')).toHaveLength(1);
      expect(h.agents.sessions.size).toBe(1);
      expect(roots('still being made')).toHaveLength(0);
      expect((await records.pendingStarts()).map((p) => p.request.prompt)).toEqual(['still being made']);
    } finally {
      await kv.disconnect();
    }
  });

  it('a reply that reaches the other replica while a mention start is still posting its root card waits for that session and reaches it once', async () => {
    const { h, senderB, logsB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      await turn.message(`Answer: ${turn.text}`);
    };
    const mention = appMention({ channel: 'C1', user: 'U1', text: 'start here' });
    const thread = String(mention.ts);
    // A's root card is in Slack, but A has not heard back yet: no thread record exists.
    let rootPosted: () => void = () => undefined;
    const posted = new Promise<void>((resolve) => (rootPosted = resolve));
    let letAnswer: () => void = () => undefined;
    const answer = new Promise<void>((resolve) => (letAnswer = resolve));
    h.slack.onApplied = async (method, _n, args) => {
      if (method !== 'chat.postMessage' || args.thread_ts !== thread) return;
      h.slack.onApplied = undefined;
      rootPosted();
      await answer;
    };
    await h.sender.event(mention);
    await posted;
    const reply = humanReply({ channel: 'C1', thread_ts: thread, user: 'U1', text: 'and one more thing' });
    await senderB.event(reply);
    // B took it for a session thread (from the lease A holds), not for chatter to ignore.
    await logsB.waitFor((l) => l.msg === 'thread reply → agent');
    letAnswer();
    await h.slack.waitFor(() => agentText(h.slack, 'C1', thread).includes('Answer: and one more thing'));
    await h.bot.settled();
    await b!.settled();
    const session = [...h.agents.sessions.values()][0]!;
    expect(h.agents.sessions.size).toBe(1);
    expect(userMessages(h, session.id, 'and one more thing')).toHaveLength(1);
    expect(b!.bridge.liveRunners).toBe(0);
  });
});

const ofType = (harness: Harness, sessionId: string, type: string) => harness.agents.received(sessionId).filter((e) => e.type === type);
const eventsPath = (sessionId: string) => `/v1/sessions/${sessionId}/events`;
/** Sends to the session (POST …/events) that reached the fake Managed Agents API, carried out or not. */
const sendsTo = (harness: Harness, sessionId: string) =>
  harness.agents.requests.filter((r) => r.method === 'POST' && r.path === eventsPath(sessionId)).length;
const storedAgain = (l: { msg?: unknown }) => l.msg === 'carrying out a stored intent taken before and never acknowledged';

describe('two replicas on one Redis: work relayed to a holder that dies before it answers', () => {
  it('a Stop the holder took and died sending (before the API had it) is sent by the replica taking the thread over, once', async () => {
    const { h, b, senderB, logsB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      await turn.message('Working on it.');
      await turn.gate('never');
    };
    await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Working on it.') && rootText(h).includes('stop_session'));
    const session = [...h.agents.sessions.values()][0]!;
    // A's user.interrupt waits at the API, not carried out; A dies meanwhile and never sends it.
    h.agents.holdNext({ method: 'POST', path: eventsPath(session.id) }, 'interrupt-held');
    const sent = sendsTo(h, session.id);
    const click = senderB.action(blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts, actionId: 'stop_session', value: `T1:C1:${root.ts}` }));
    await h.agents.waitFor(() => sendsTo(h, session.id) > sent);
    await h.bot.kill();
    expect((await click).status).toBe(200);

    await h.slack.waitFor(() => rootText(h).includes('Stopped by <@U1>'), 4 * LEASE_MS + 10_000);
    await logsB.waitFor(storedAgain);
    // What B's guard heard back for the click: sent (so the person is told nothing; the thread says who stopped it).
    const audited = await logsB.waitFor((l) => l.msg === 'audit' && l.action === 'stop');
    expect(audited.outcome).toBe('ok');
    await b.settled();
    expect(ofType(h, session.id, 'user.interrupt')).toHaveLength(1);
  });

  it('a reply the holder sent to the session and died before hearing back is not sent a second time by the replica taking over, which says it may not have reached the agent', async () => {
    const { h, b, senderB, logsB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      if (!turn.text.includes('long')) return void (await turn.message(`Next turn: ${turn.text}`));
      await turn.message('Working on it.');
      await turn.gate('steered');
      await turn.message('First part done.');
    };
    await h.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Working on it.'));
    const session = [...h.agents.sessions.values()][0]!;
    // A's user.message lands; its answer waits, and A dies before it hears back or records it.
    h.agents.holdNext({ method: 'POST', path: eventsPath(session.id) }, 'steer-answer', { afterApply: true });
    await senderB.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'also check the tests' }));
    await h.agents.waitFor(() => userMessages(h, session.id, 'also check the tests').length > 0);
    await h.bot.kill();

    await logsB.waitFor(storedAgain, 4 * LEASE_MS + 10_000);
    h.agents.release('steered');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Next turn: also check the tests'));
    await h.slack.waitFor(() => rootText(h).includes('Done'));
    await b.settled();
    expect(userMessages(h, session.id, 'also check the tests')).toHaveLength(1);
    expect(occurrences(agentText(h.slack, 'C1', root.ts), 'Next turn: also check the tests')).toBe(1);
    // Queued behind the running turn, the message is not in the session's events list yet: B cannot tell it landed.
    expect(JSON.stringify(botReplies(h.slack, 'C1', root.ts))).toContain(replyWords({ kind: 'replica_unanswered' }));
  });

  it('an approval the holder recorded and died sending reaches the session once, and the person is not told it failed', async () => {
    const { h, b, senderB, logsB } = await twoReplicas();
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: 'make deploy' }, { text: 'deployed' });
      await turn.message(`The tool call was ${answer.result}ed.`);
    };
    await h.sender.command({ text: 'deploy it', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf(h));
    const card = await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).find((m) => JSON.stringify(m.blocks ?? []).includes('approve_tool')));
    const session = [...h.agents.sessions.values()][0]!;
    const eventId = String((card.metadata?.event_payload as { key?: string } | undefined)?.key ?? '').slice('approval:'.length);
    h.agents.holdNext({ method: 'POST', path: eventsPath(session.id) }, 'confirmation-held');
    const sent = sendsTo(h, session.id);
    await senderB.action(blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts, threadTs: root.ts, actionId: 'approve_tool', value: eventId }));
    await h.agents.waitFor(() => sendsTo(h, session.id) > sent);
    await h.bot.kill();

    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('The tool call was allowed.'), 4 * LEASE_MS + 10_000);
    await logsB.waitFor(storedAgain);
    // What B's guard heard back for the click: sent, not failed (which would tell the person it did not reach the agent).
    const audited = await logsB.waitFor((l) => l.msg === 'audit' && l.action === 'approve');
    expect(audited.outcome).toBe('ok');
    await b.settled();
    expect(ofType(h, session.id, 'user.tool_confirmation')).toEqual([expect.objectContaining({ tool_use_id: eventId, result: 'allow' })]);
  });

  it('a reply stored for a thread while its replica was down (relayed to it as it stopped) reaches the session once when the thread is resumed', async () => {
    const storeNamespace = `test-${randomUUID()}`;
    h = await startHarness({ STORE_URL: 'redis://127.0.0.1:6379', LEASE_MS: String(LEASE_MS) }, { storeNamespace });
    const harness = h;
    harness.agents.onTurn = async (turn) => {
      if (!turn.text.includes('long')) return void (await turn.message(`Next turn: ${turn.text}`));
      await turn.message('Working on it.');
      await turn.gate('resumed');
    };
    await harness.sender.command({ text: 'a long task', user: 'U1', channel: 'C1' });
    const root = await harness.slack.waitFor(() => rootOf(harness));
    await harness.slack.waitFor(() => agentText(harness.slack, 'C1', root.ts).includes('Working on it.'));
    const session = [...harness.agents.sessions.values()][0]!;
    await harness.restart(async () => {
      // What a replica that stored a reply for this thread, and stopped before anyone carried it out, leaves behind.
      const redis = await openRedis('redis://127.0.0.1:6379');
      try {
        const ref = { team: 'T1', channel: 'C1', threadTs: root.ts };
        await new Relay(redis, coordinationPrefix(storeNamespace), 'a-replica-that-stopped', memoryLogger().log).store({
          kind: 'steer',
          ref,
          msg: { user: 'U1', text: 'stored while you were down', ts: '1796300000.000009' },
        });
      } finally {
        await redis.close();
      }
    });
    await harness.agents.waitFor(() => userMessages(harness, session.id, 'stored while you were down').length > 0);
    harness.agents.release('resumed');
    await harness.slack.waitFor(() => agentText(harness.slack, 'C1', root.ts).includes('Next turn: stored while you were down'));
    await harness.bot.settled();
    expect(userMessages(harness, session.id, 'stored while you were down')).toHaveLength(1);
  });
});
