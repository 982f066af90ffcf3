import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeManagedAgents, type FakeManagedAgents, type Turn } from '../fakes/managed-agents/index.js';
import { appMention, blockAction, humanReply, startFakeSlack, type FakeSlack, type StoredMessage } from '../fakes/slack/index.js';
import { ensureBuilt } from './support/bot-process.js';
import { botReplies, metaKey, rootsIn, TEXT_LIMITS } from './support/full-turn.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { ReplicaSet } from './support/replica-set.js';

/** The same test knobs as the kill test: short backoffs, no status throttle, small messages. */
const OPTIONS = {
  statusIntervalMs: 0,
  slackBackoffMs: 20,
  closeGraceMs: 1000,
  streamBackoff: { initialMs: 20, maxMs: 200 },
  outputRetryDelaysMs: [50, 150],
  textLimits: TEXT_LIMITS,
};

/**
 * The replicas' lease on a thread they follow (LEASE_MS): short, so a takeover after a kill
 * comes within a test's time; production's default is in src/config/env.ts.
 */
const LEASE_MS = 1500;

/** How long the first provisioning create is held while the other replicas start (see startTogether). */
const RACE_WINDOW_MS = 1500;

// One Redis, one pair of fakes and three replicas for the file (starting processes is what
// costs): each test works in channels of its own and finds its session by its prompt.
let redis: RedisServer;
let slack: FakeSlack;
let agents: FakeManagedAgents;
let set: ReplicaSet;
/** What the replicas' start asked of the API, read before any test ran. */
let startCreates: { agents: number; environments: number; agentObjects: number; environmentObjects: number };

/** The agent's script for a prompt containing the key; any other prompt is answered in one line. */
const scripts = new Map<string, (turn: Turn) => Promise<void>>();

beforeAll(async () => {
  ensureBuilt();
  redis = await startRedisServer();
  slack = await startFakeSlack();
  agents = await startFakeManagedAgents();
  agents.onTurn = async (turn) => {
    const script = [...scripts].find(([key]) => turn.text.includes(key))?.[1];
    await (script ? script(turn) : turn.message(`Answer: ${turn.text}`));
  };
  set = await ReplicaSet.start({ count: 3, redis, slack, agents, env: { LEASE_MS: String(LEASE_MS) }, options: OPTIONS, startAll: false });
  await startTogether(set, agents, slack, '/v1/agents');
  startCreates = {
    agents: set.tap.posts('/v1/agents'),
    environments: set.tap.posts('/v1/environments'),
    agentObjects: agents.agents.size,
    environmentObjects: agents.environments.size,
  };
}, 120_000);
afterAll(async () => {
  await set?.close();
  await agents?.close();
  await slack?.close();
  await redis?.close();
});
// A test that failed halfway may have left a replica down.
beforeEach(async () => {
  slack.onApplied = undefined;
  await Promise.all(set.replicas.filter((r) => !r.bot.alive).map((r) => r.bot.start()));
}, 60_000);

/**
 * Starts every replica at once with the first create at `path` held back: replicas that
 * provision without coordinating would all have looked and found nothing by the time it is
 * released, and each would create its own. It is released when as many creates as replicas
 * arrived (each provisioned for itself), or else RACE_WINDOW_MS after the last replica's
 * auth.test (its first call, just before it provisions): a window for the others to race
 * in, not a wait for something they do.
 */
async function startTogether(s: ReplicaSet, fakeAgents: FakeManagedAgents, fakeSlack: FakeSlack, path: string): Promise<void> {
  fakeAgents.holdNext({ method: 'POST', path }, 'first-create');
  const started = s.startAll();
  started.catch(() => undefined);
  await fakeSlack.waitFor(() => fakeSlack.callsTo('auth.test').length >= s.replicas.length, 60_000);
  await Promise.race([
    s.tap.waitFor(() => s.tap.posts(path) >= s.replicas.length, RACE_WINDOW_MS).catch(() => undefined),
    started.catch(() => undefined),
  ]);
  fakeAgents.release('first-create');
  await started;
}

const split = (text: string) => text.split(/\s+/).filter(Boolean);
const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`).join(' ');
const blocksOf = (m: StoredMessage | undefined) => JSON.stringify(m?.blocks ?? '');

/** The root card of the (one) session started at the top of `channel`. */
const rootIn = (channel: string) => rootsIn(slack, channel)[0];

/** Session cards in a thread the bot did not open (a mention's): what the root card is at the top. */
const cardsUnder = (channel: string, ts: string) => botReplies(slack, channel, ts).filter((m) => blocksOf(m).includes('asked the agent'));

/** The words of the thread's text messages, in thread order. */
function threadWords(channel: string, rootTs: string): string[] {
  return split(
    botReplies(slack, channel, rootTs)
      .map((m) => m.markdown_text)
      .filter((t): t is string => typeof t === 'string')
      .join(' '),
  );
}

/** The agent's words in the order it said them. */
function agentWords(sessionId: string): string[] {
  return split(
    agents
      .events(sessionId)
      .filter((e) => e.type === 'agent.message')
      .map((e) => (e.content as Array<{ text?: string }>)[0]?.text ?? '')
      .join(' '),
  );
}

/** Keyed messages of the thread that were posted more than once. */
function doubledKeys(channel: string, rootTs: string): string[] {
  const keys = botReplies(slack, channel, rootTs)
    .map(metaKey)
    .filter((k): k is string => k !== undefined);
  return [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
}

/** Sessions some replica sent a message containing `prompt` to. */
const sessionsWith = (prompt: string) => [...agents.sessions.values()].filter((x) => set.tap.messagesWith(x.id, prompt) > 0);
const sessionWith = (prompt: string) => set.tap.waitFor(() => sessionsWith(prompt)[0], 20_000);

/**
 * Until no replica follows the session's event stream any more: a replica lets go of a
 * thread only once its writes there are done, so nothing more is coming to the thread.
 */
const allLetGo = (sessionId: string) => set.tap.waitFor(() => set.tap.following(sessionId).length === 0, 30_000);

function buttonValue(m: StoredMessage, action: string): string {
  const walk = (v: unknown): string | undefined => {
    if (Array.isArray(v)) return v.map(walk).find((x) => x !== undefined);
    if (!v || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    return o.action_id === action && typeof o.value === 'string' ? o.value : walk(Object.values(o));
  };
  return walk(m.blocks) ?? '';
}

/** Each replica's decision about a delivered message event, from its log: it started a session, or dropped the delivery. */
function decisions(replica: number, ts: string): string[] {
  return set
    .replica(replica)
    .bot.logs('info')
    .filter((l) => (l.msg === 'mention/DM → new session' && l.thread === ts) || (l.msg === 'duplicate event delivery ignored' && l.ts === ts))
    .map((l) => String(l.msg));
}

describe('several replicas on one Redis, behind a round-robin proxy', () => {
  it('a redelivery of a Slack event that reaches another replica than the first delivery has no effect', async () => {
    const mention = appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> list the branches' });
    const ts = String(mention.ts);
    const starts = decisions(0, ts).length;
    const first = await set.replica(0).sender.event(mention);
    expect(first.status).toBe(200);
    await set.waitForLogs(() => decisions(0, ts).length > starts, 20_000);
    // Slack's retry after a slow ack, which the load balancer sends to another replica.
    const again = await set.replica(1).sender.event(mention, { eventId: first.eventId!, retryNum: 1, retryReason: 'http_timeout' });
    expect(again.status).toBe(200);
    await set.waitForLogs(() => decisions(1, ts).includes('duplicate event delivery ignored'), 20_000);
    await slack.waitFor(() => cardsUnder('C1', ts).some((m) => blocksOf(m).includes('Done')), 20_000);
    const session = await sessionWith('list the branches');
    await allLetGo(session.id);
    expect(sessionsWith('list the branches')).toHaveLength(1);
    expect(set.tap.messagesWith(session.id, 'list the branches')).toBe(1);
    expect(cardsUnder('C1', ts)).toHaveLength(1);
    expect(threadWords('C1', ts)).toEqual(['Answer:', 'list', 'the', 'branches']);
  }, 60_000);

  it('one Slack event delivered to two replicas at the same moment (same event_id) has one effect', async () => {
    const mention = appMention({ channel: 'C2', user: 'U2', text: '<@U_BOT> count the files' });
    const ts = String(mention.ts);
    const eventId = 'Ev0REPLICAS02';
    const answers = await Promise.all([set.replica(0).sender.event(mention, { eventId }), set.replica(1).sender.event(mention, { eventId })]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // Each replica decides about the event and says so in its log: one starts, one drops it.
    const both = await set.waitForLogs(() => {
      const all = [...decisions(0, ts), ...decisions(1, ts)];
      return all.length >= 2 && all;
    }, 20_000);
    expect(both.sort()).toEqual(['duplicate event delivery ignored', 'mention/DM → new session']);
    await slack.waitFor(() => cardsUnder('C2', ts).some((m) => blocksOf(m).includes('Done')), 20_000);
    const session = await sessionWith('count the files');
    await allLetGo(session.id);
    expect(sessionsWith('count the files')).toHaveLength(1);
    expect(set.tap.messagesWith(session.id, 'count the files')).toBe(1);
    expect(cardsUnder('C2', ts)).toHaveLength(1);
    expect(threadWords('C2', ts)).toEqual(['Answer:', 'count', 'the', 'files']);
  }, 60_000);

  it('three replicas started together create the default agent and environment once', () => {
    // The file's replicas were started that way (beforeAll: startTogether).
    expect(startCreates).toEqual({ agents: 1, environments: 1, agentObjects: 1, environmentObjects: 1 });
  });

  it('three replicas started together provision the profiles file once: one agent per profile, one environment per name', async () => {
    // Fakes, a Redis and replicas of its own: the file's are provisioned already.
    const dir = mkdtempSync(join(tmpdir(), 'replica-profiles-'));
    const ownRedis = await startRedisServer();
    const ownSlack = await startFakeSlack();
    const ownAgents = await startFakeManagedAgents();
    let own: ReplicaSet | undefined;
    try {
      const file = join(dir, 'agents.yml');
      writeFileSync(
        file,
        [
          'default_profile: general',
          'profiles:',
          '  general:',
          '    agent: { model: claude-sonnet-5-5 }',
          '  coding:',
          '    agent: { model: claude-sonnet-5-5, system: You write code. }',
          '    environment: { name: coding-env }',
          '',
        ].join('\n'),
      );
      own = await ReplicaSet.start({
        count: 3,
        redis: ownRedis,
        slack: ownSlack,
        agents: ownAgents,
        env: { AGENTS_CONFIG: file },
        options: OPTIONS,
        startAll: false,
      });
      await startTogether(own, ownAgents, ownSlack, '/v1/environments');
      expect([...ownAgents.agents.values()].map((a) => a.metadata.slack_profile).sort()).toEqual(['coding', 'general']);
      expect([...ownAgents.environments.values()].map((e) => e.name).sort()).toEqual(['coding-env', 'slack-general']);
      expect(own.tap.posts('/v1/agents')).toBe(2);
      expect(own.tap.posts('/v1/environments')).toBe(2);
    } finally {
      await own?.close();
      await ownAgents.close();
      await ownSlack.close();
      await ownRedis.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('a session started through one replica and steered through another gets the steer once, and the thread shows each answer once', async () => {
    scripts.set('first task', async (turn) => {
      await turn.message('Working on the first task.');
      await turn.gate('first-turn');
      await turn.message(`Handled: ${turn.text}`);
    });
    await set.replica(0).sender.command({ text: 'first task', user: 'U3', channel: 'C3' });
    const root = await slack.waitFor(() => rootIn('C3'), 20_000);
    const session = await sessionWith('first task');
    await slack.waitFor(() => threadWords('C3', root.ts).includes('Working'), 20_000);
    // The steer goes to a replica that does not follow the session, so it has to be relayed.
    const [follower] = set.tap.following(session.id);
    expect(follower).toBeDefined();
    const other = set.replicas.findIndex((r) => r.name !== follower);
    expect(set.replicas[other]!.name).not.toBe(follower);
    const steer = humanReply({ channel: 'C3', thread_ts: root.ts, user: 'U3', text: 'also check lint' });
    await set.replica(other).sender.event(steer);
    await set.tap.waitFor(() => set.tap.messagesWith(session.id, 'also check lint') > 0, 20_000);
    // Carried out by the follower, not by the replica that took it.
    expect(
      set.tap
        .sent(session.id)
        .filter((s) => s.text.includes('also check lint'))
        .map((s) => s.replica),
    ).toEqual([follower]);
    agents.release('first-turn');
    await slack.waitFor(() => blocksOf(rootIn('C3')).includes('Done') && threadWords('C3', root.ts).includes('lint'), 20_000);
    await allLetGo(session.id);
    expect(set.tap.messagesWith(session.id, 'first task')).toBe(1);
    expect(set.tap.messagesWith(session.id, 'also check lint')).toBe(1);
    expect(doubledKeys('C3', root.ts)).toEqual([]);
    expect(threadWords('C3', root.ts)).toEqual(agentWords(session.id));
    expect(agentWords(session.id).join(' ')).toContain('Answer: also check lint');
  }, 60_000);

  it('Stop and an approval clicked at a replica that does not follow the session reach it once', async () => {
    scripts.set('deploy it', async (turn) => {
      await turn.message('Ready to deploy.');
      await turn.confirmToolUse('bash', { command: 'make deploy' }, { text: 'deployed' });
      await turn.message('Deployed; watching the logs.');
      await turn.gate('never');
    });
    await set.replica(0).sender.command({ text: 'deploy it', user: 'U4', channel: 'C4' });
    const root = await slack.waitFor(() => rootIn('C4'), 20_000);
    const session = await sessionWith('deploy it');
    const card = await slack.waitFor(
      () => slack.messages('C4').find((m) => metaKey(m)?.startsWith('approval:') && buttonValue(m, 'approve_tool')),
      20_000,
    );
    const [follower] = set.tap.following(session.id);
    const other = set.replicas.findIndex((r) => r.name !== follower);
    const approve = await set.replica(other).sender.action(
      blockAction({
        user: 'U4',
        channel: 'C4',
        messageTs: card.ts,
        threadTs: root.ts,
        actionId: 'approve_tool',
        value: buttonValue(card, 'approve_tool'),
      }),
    );
    expect(approve.status).toBe(200);
    await slack.waitFor(() => threadWords('C4', root.ts).includes('watching'), 20_000);
    await slack.waitFor(() => blocksOf(rootIn('C4')).includes('stop_session'), 20_000);
    const stop = await set
      .replica(other)
      .sender.action(blockAction({ user: 'U4', channel: 'C4', messageTs: root.ts, actionId: 'stop_session', value: '' }));
    expect(stop.status).toBe(200);
    await slack.waitFor(() => blocksOf(rootIn('C4')).includes('Stopped by <@U4>'), 20_000);
    await allLetGo(session.id);
    expect(follower).toBeDefined();
    expect(set.tap.count(session.id, 'user.tool_confirmation')).toBe(1);
    expect(set.tap.count(session.id, 'user.interrupt')).toBe(1);
    expect(agents.received(session.id).map((e) => e.type)).toEqual(['user.message', 'user.tool_confirmation', 'user.interrupt']);
    expect(doubledKeys('C4', root.ts)).toEqual([]);
    expect(threadWords('C4', root.ts)).toEqual(agentWords(session.id));
  }, 60_000);

  it('the replica following a turn is killed with SIGKILL mid-stream: another takes the session over and the thread shows every word once, in order', async () => {
    const letters = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    scripts.set('long task', async (turn) => {
      for (const letter of letters) {
        await turn.message(numbered(letter, 6));
        await turn.wait(500);
      }
    });
    let killed: { name: string; at: number } | undefined;
    let sessionId = '';
    // Every write the fake applied, with when it became visible.
    const applied: Array<{ at: number; text: string }> = [];
    const wordsIn = (text: string): string[] => text.match(/\b[a-g]\d\b/g) ?? [];
    slack.onApplied = async (method, _n, args) => {
      if (args.channel !== 'C5') return;
      // Line breaks as spaces, so a word after one is a word of its own.
      const text = JSON.stringify(args).replaceAll('\\n', ' ');
      applied.push({ at: Date.now(), text });
      // In the gap between "Slack took the write" and "the replica heard back", as the kill test does.
      if (killed || !sessionId || !/^chat\.(startStream|appendStream|postMessage)$/.test(method) || !wordsIn(text).includes('c1')) return;
      const [holder] = set.tap.following(sessionId);
      if (!holder) return;
      killed = { name: holder, at: Date.now() };
      await set.kill(set.indexOf(holder));
    };
    await set.sender.command({ text: 'long task', user: 'U5', channel: 'C5' });
    const root = await slack.waitFor(() => rootIn('C5'), 20_000);
    sessionId = (await sessionWith('long task')).id;
    await slack.waitFor(() => killed, 30_000);
    await slack.waitFor(() => blocksOf(rootIn('C5')).includes('Done') && threadWords('C5', root.ts).includes('g6'), 40_000);
    const shownAtKill = new Set(applied.filter((a) => a.at <= killed!.at).flatMap((a) => wordsIn(a.text)));
    const firstNew = applied.find((a) => a.at > killed!.at && wordsIn(a.text).some((w) => !shownAtKill.has(w)));
    await allLetGo(sessionId);
    slack.onApplied = undefined;
    console.log(`hand-over: ${firstNew ? firstNew.at - killed!.at : 'none'} ms from SIGKILL of ${killed!.name} to the first new word in the thread`);
    expect(firstNew).toBeDefined();
    expect(set.tap.messagesWith(sessionId, 'long task')).toBe(1);
    expect(rootsIn(slack, 'C5')).toHaveLength(1);
    expect(doubledKeys('C5', root.ts)).toEqual([]);
    expect(agentWords(sessionId)).toEqual(split(letters.map((l) => numbered(l, 6)).join(' ')));
    expect(threadWords('C5', root.ts)).toEqual(agentWords(sessionId));
  }, 90_000);

  it('the replica following a turn is frozen (SIGSTOP) past its lease: once another took the thread over, the frozen one writes nothing more there when it runs again', async () => {
    const letters = ['a', 'b', 'c', 'd', 'e', 'f'];
    // Words and tool cards in turn, each card a post of its own.
    scripts.set('frozen task', async (turn) => {
      for (const letter of letters) {
        await turn.message(numbered(letter, 6));
        await turn.toolUse('bash', { command: `make ${letter}` }, { text: 'ok' });
        await turn.wait(1000);
      }
    });
    let armed = false;
    // After the first card, Slack answers the thread's next post with a 429: the holder's
    // write then waits out Retry-After (asked for, not sent), and the holder is frozen there.
    slack.onApplied = async (method, _n, args) => {
      if (armed || args.channel !== 'C9' || method !== 'chat.postMessage' || !JSON.stringify(args).includes('make a')) return;
      armed = true;
      slack.failNext('chat.postMessage', { retryAfter: 2, match: (a) => a.channel === 'C9' });
    };
    let frozen: { name: string; index: number; at: number } | undefined;
    const writes = /^(chat\.|reactions\.|files\.completeUploadExternal)/;
    try {
      await set.sender.command({ text: 'frozen task', user: 'U9', channel: 'C9' });
      const root = await slack.waitFor(() => rootIn('C9'), 20_000);
      const sessionId = (await sessionWith('frozen task')).id;
      await slack.waitFor(() => slack.rateLimited.some((c) => c.method === 'chat.postMessage' && c.args.channel === 'C9'), 30_000);
      // The holder: the replica whose post was refused (the one writing the thread).
      const holder = set.slackTap.calls.findLast((c) => c.method === 'chat.postMessage' && c.channel === 'C9')!.replica;
      frozen = { name: holder, index: set.indexOf(holder), at: Date.now() };
      set.pause(frozen.index);
      const stopped = frozen;
      // Taken over: another replica wrote the thread after the freeze (its lease lapsed first).
      const takeover = await slack.waitFor(
        () => set.slackTap.calls.find((c) => c.replica !== stopped.name && c.channel === 'C9' && c.at > stopped.at && writes.test(c.method)),
        30_000,
      );
      set.resume(stopped.index);
      // Running again, the frozen replica finds its lease gone and drops what it had waiting.
      await set.waitForLogs(() =>
        set
          .replica(stopped.index)
          .bot.logs('info')
          .some((l) => String(l.msg).startsWith('closed the runner of a thread whose lease was lost')),
      );
      await slack.waitFor(() => blocksOf(rootIn('C9')).includes('Done') && threadWords('C9', root.ts).includes('f6'), 40_000);
      await allLetGo(sessionId);
      slack.onApplied = undefined;
      const lateWrites = set.slackTap.calls.filter(
        (c) => c.replica === stopped.name && c.channel === 'C9' && c.at > stopped.at && writes.test(c.method),
      );
      console.log(`frozen ${stopped.name}; ${takeover.replica} wrote the thread ${takeover.at - stopped.at} ms after the freeze`);
      expect(lateWrites).toEqual([]);
      expect(doubledKeys('C9', root.ts)).toEqual([]);
      expect(threadWords('C9', root.ts)).toEqual(agentWords(sessionId));
    } finally {
      slack.onApplied = undefined;
      if (frozen) set.resume(frozen.index);
    }
  }, 90_000);

  it('a rolling restart during three running turns loses nothing and doubles nothing', async () => {
    const steps = set.replicas.length + 1;
    const piece = (step: number) => numbered(`s${step}w`, 6);
    // Each turn says a piece, then waits for the next replica's restart to begin before the
    // next one: every piece after the first is said while a replica is going down.
    scripts.set('rolling task', async (turn) => {
      for (let step = 0; step < steps; step++) {
        await turn.message(piece(step));
        if (step < steps - 1) await turn.gate(`step-${step}`);
      }
    });
    const channels = ['C6', 'C7', 'C8'];
    // Through the proxy, so the starts go to the replicas in turn; each by a person of their
    // own, as a team's are (one person's running limit is not what this is about).
    for (const channel of channels) await set.sender.command({ text: `rolling task in ${channel}`, user: `U${channel}`, channel });
    const roots = await slack.waitFor(() => {
      const found = channels.map((c) => rootIn(c));
      return found.every(Boolean) && (found as StoredMessage[]);
    }, 20_000);
    const allShow = (step: number) => slack.waitFor(() => channels.every((c, i) => threadWords(c, roots[i]!.ts).includes(`s${step}w6`)), 40_000);
    await allShow(0);
    await set.rollingRestart({
      // One pass of the gate per running turn.
      before: (i) => {
        for (const _ of channels) agents.release(`step-${i}`);
      },
      after: async (i) => void (await allShow(i + 1)),
    });
    await slack.waitFor(() => channels.every((c) => blocksOf(rootIn(c)).includes('Done')), 40_000);
    const said = split(Array.from({ length: steps }, (_, step) => piece(step)).join(' '));
    for (const [i, channel] of channels.entries()) {
      const [session, ...more] = sessionsWith(`rolling task in ${channel}`);
      expect(more).toEqual([]);
      await allLetGo(session!.id);
      expect(rootsIn(slack, channel)).toHaveLength(1);
      expect(set.tap.messagesWith(session!.id, `rolling task in ${channel}`)).toBe(1);
      expect(doubledKeys(channel, roots[i]!.ts)).toEqual([]);
      expect(agentWords(session!.id)).toEqual(said);
      expect(threadWords(channel, roots[i]!.ts), channel).toEqual(said);
    }
  }, 120_000);
});
