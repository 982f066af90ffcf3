/**
 * npm run bench: the real bot against the loopback fakes with Slack's rate limits
 * enforced by the fake, beside a naive one-post-per-event bot, in one table.
 * Sizes can be shrunk for a quick look: BENCH_SCALE=0.2 npm run bench
 */
import { startHarness } from '../test/support/harness.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeManagedAgents, type FakeManagedAgents, type Turn } from '../test/fakes/managed-agents/index.js';
import { SlackSender, startFakeSlack, type FakeSlack } from '../test/fakes/slack/index.js';
import { diagnose } from './diagnose.js';
import { NaiveBot } from './naive-bot.js';
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { parseEnv } from '../src/config/env.js';
import { startBot, type RunningBot } from '../src/bot.js';
import { createLogger } from '../src/ops/logger.js';

/**
 * Each bench session is started by a person of its own, as a team's sessions are (one person
 * may run MAX_RUNNING_PER_USER at once). ALLOW_GUESTS spares a users.info look-up per new
 * person: the bench measures delivery, not the guest check.
 */
const BENCH_PEOPLE = { ALLOW_GUESTS: 'true' } as const;
let people = 0;
const nextPerson = (): string => `UBENCH${++people}`;
import { percentile, slowestThreadP95, VisibilityTracker, WRITE_METHODS } from './visibility.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ONLY = process.env.BENCH_ONLY?.split(',');

type Emit = (text: string) => void;
type Scenario = {
  name: string;
  threads: number;
  channels: number;
  pieces: number;
  windowMs: number;
  script: (turn: Turn, emit: Emit, index: number) => Promise<void>;
};

type Result = {
  writes: number;
  perSecond: number;
  rateLimited: number;
  delivered: number;
  lost: number;
  p50: number;
  p95: number;
  /** The p95 of the thread whose p95 is worst. */
  slowestP95: number;
  max: number;
  seconds: number;
  peakRssMb: number;
  cpuUsPerPiece: number;
};

/** Every real turn reports its usage, so every turn here ends with its usage line too. */
const TURN_USAGE = { input_tokens: 1200, output_tokens: 400 };

/** Scenarios 3 and 5: 50 threads in 10 channels, started over 10 s, 25 messages each 400 ms apart. */
function fiftyThreads(name: string): Scenario {
  const threads = Math.max(2, Math.round(50 * SCALE));
  return {
    name,
    threads,
    channels: 10,
    pieces: threads * 25,
    windowMs: 90_000,
    script: async (turn, emit, index) => {
      await turn.usage(TURN_USAGE);
      await turn.wait((index * 10_000) / threads);
      for (let i = 0; i < 25; i++) {
        const piece = `[t${index}m${i}]`;
        emit(piece);
        // event_start + 2 deltas + agent.message = 4 events, 25 times.
        await turn.message(`Part ${i} ${piece}`, { deltas: [`Part ${i} `, piece] });
        await turn.wait(400);
      }
    },
  };
}

const scenarios: Scenario[] = [
  {
    name: '1 thread, 500-event burst',
    threads: 1,
    channels: 1,
    pieces: 500,
    windowMs: 30_000,
    script: async (turn, emit) => {
      await turn.usage(TURN_USAGE);
      const words = Array.from({ length: 500 }, (_, i) => `w${i} `);
      words.forEach(emit);
      await turn.message(words.join(''), { deltas: words });
    },
  },
  {
    name: '1 thread, a message every 250 ms for 30 s',
    threads: 1,
    channels: 1,
    pieces: Math.round(120 * SCALE) || 1,
    windowMs: 60_000,
    script: async (turn, emit) => {
      await turn.usage(TURN_USAGE);
      for (let i = 0; i < Math.round(120 * SCALE); i++) {
        const piece = `[s${i}]`;
        emit(piece);
        await turn.message(`Step ${i} ${piece}`, { deltas: [`Step ${i} `, piece] });
        await turn.wait(250);
      }
    },
  },
  fiftyThreads('50 threads in 10 channels, 100 events each'),
  {
    name: `${Math.round(1000 * SCALE)} sessions, one message a second each`,
    threads: Math.round(1000 * SCALE),
    channels: Math.max(1, Math.round(100 * SCALE)),
    pieces: Math.round(1000 * SCALE) * 20,
    windowMs: 60_000,
    script: async (turn, emit, index) => {
      await turn.usage(TURN_USAGE);
      await turn.wait(index % 1000);
      for (let i = 0; i < 20; i++) {
        const piece = `[x${index}m${i}]`;
        emit(piece);
        await turn.message(`Tick ${i} ${piece}`, { deltas: [`Tick ${i} ${piece}`] });
        await turn.wait(1000);
      }
    },
  },
  // Scenario 3's load, through three bots that share one fake Slack workspace (see runReplicas).
  fiftyThreads('50 threads in 10 channels, 3 bots on one Redis'),
];

function sampleRss(): { stop: () => number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round(peak / 1024 / 1024);
    },
  };
}

/**
 * Drive one scenario: script the fake agent, start every thread through `startThread`
 * (the bot under test), and measure until every piece is visible or the window ends.
 */
async function measure(
  sc: Scenario,
  fakes: { slack: FakeSlack; agents: FakeManagedAgents },
  startThread: (prompt: string, channel: string) => Promise<void>,
  windowMs: number,
): Promise<{ tracker: VisibilityTracker; seconds: number; peakRssMb: number; cpu: NodeJS.CpuUsage }> {
  const tracker = new VisibilityTracker(fakes.slack);
  const indexOf = new Map<string, number>();
  fakes.agents.onTurn = async (turn) => {
    const session = fakes.agents.sessions.get(turn.sessionId)!;
    const emit = (text: string) => tracker.emit(session.metadata.slack_channel!, session.metadata.slack_thread!, text);
    await sc.script(turn, emit, indexOf.get(turn.text) ?? 0);
  };
  const rss = sampleRss();
  const cpu = process.cpuUsage();
  const started = Date.now();
  await Promise.all(
    Array.from({ length: sc.threads }, async (_, i) => {
      const prompt = `task ${i}`;
      indexOf.set(prompt, i);
      await startThread(prompt, `C${i % sc.channels}`);
    }),
  );
  await tracker.untilAllVisible(sc.pieces, windowMs);
  return { tracker, seconds: (Date.now() - started) / 1000, cpu: process.cpuUsage(cpu), peakRssMb: rss.stop() };
}

async function runOurs(sc: Scenario): Promise<Result> {
  const h = await startHarness(
    { LOG_LEVEL: 'silent', ...BENCH_PEOPLE },
    { slack: { enforceRateLimits: true }, statusIntervalMs: 8_000, slackBackoffMs: 500, closeGraceMs: 1000 },
  );
  const m = await measure(
    sc,
    h,
    async (prompt, channel) => {
      const res = await h.sender.command({ text: prompt, user: nextPerson(), channel });
      if (res.status !== 200) throw new Error(`ack failed: ${res.status}`);
    },
    sc.windowMs,
  );
  // Small runs count every write, root edits included; with a thousand threads the last
  // root-card edits alone take minutes of budget, so those are counted up to now.
  if (sc.threads <= 50) await h.bot.settled();
  const by = new Map<string, number>();
  for (const c of h.slack.calls) if (WRITE_METHODS.has(c.method)) by.set(c.method, (by.get(c.method) ?? 0) + 1);
  process.stderr.write(`  writes by method: ${[...by].map(([method, n]) => `${method} ${n}`).join(', ')}\n`);
  for (const line of await diagnose(h.slack.calls, [h.bot.metrics])) process.stderr.write(`  ${line}\n`);
  const result = summarise(h.slack.calls, h.slack.rateLimited.length, m.tracker, sc, m.seconds, m.peakRssMb, m.cpu);
  await h.close();
  return result;
}

/**
 * The bot as users run it (`node dist/src/main.js`, production defaults) in its own
 * process, so its memory and CPU are its own: read from /proc at the end.
 */
async function runOursAlone(sc: Scenario): Promise<Result> {
  const slack = await startFakeSlack({ enforceRateLimits: true });
  const agents = await startFakeManagedAgents();
  const dir = mkdtempSync(join(tmpdir(), 'bench-bot-'));
  // The bot exactly as `npm start` runs it (its node flags included), minus the build.
  const startScript = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
  const [command, ...args] = startScript.split(/\s+/);
  const child = spawn(command!, args, {
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'bench-secret',
      SLACK_API_URL: slack.apiUrl,
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: agents.url,
      STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
      PORT: '0',
      LOG_LEVEL: 'warn',
      ...BENCH_PEOPLE,
      // For experiments only (e.g. heap flags); the published figures use none.
      ...(process.env.BENCH_BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_BOT_NODE_OPTIONS } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The bot logs to stdout: an undrained pipe fills up and blocks its writes (and so the bot).
  const logged = new Map<string, number>();
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const method = /"method":"([^"]*)"/.exec(line)?.[1];
      const msg = (/"msg":"([^"]*)"/.exec(line)?.[1] ?? 'unparsed') + (method ? ` (${method})` : '');
      logged.set(msg, (logged.get(msg) ?? 0) + 1);
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    // LOG_LEVEL=warn hides "bot is ready": find the port from /proc instead once it listens.
    child.once('exit', (code) => reject(new Error(`bot exited with ${code}`)));
    const poll = setInterval(() => {
      void fetch(`http://127.0.0.1:${listeningPort(child.pid!) ?? 0}/healthz`).then(
        (r) => {
          if (r.ok) {
            clearInterval(poll);
            resolve(listeningPort(child.pid!)!);
          }
        },
        () => undefined,
      );
    }, 200);
  });
  const sender = new SlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: 'bench-secret', fake: slack });
  const before = procStat(child.pid!);
  const m = await measure(
    sc,
    { slack, agents },
    async (prompt, channel) => {
      const res = await sender.command({ text: prompt, user: nextPerson(), channel });
      if (res.status !== 200) throw new Error(`ack failed: ${res.status}`);
    },
    sc.windowMs,
  );
  const after = procStat(child.pid!);
  if (slack.rateLimited.length > 0) {
    const by = new Map<string, number>();
    for (const c of slack.rateLimited) by.set(c.method, (by.get(c.method) ?? 0) + 1);
    process.stderr.write(`  429s by method: ${[...by].map(([m, n]) => `${m} ${n}`).join(', ')}\n`);
    const t0 = slack.calls[0]?.at ?? 0;
    const when = slack.rateLimited.map((c) => ((c.at - t0) / 1000).toFixed(1));
    const channels = new Set(slack.rateLimited.map((c) => String(c.args.channel)));
    process.stderr.write(`  429s at s: ${when.slice(0, 8).join(' ')} … ${when.slice(-3).join(' ')}; in ${channels.size} channels\n`);
  }
  const result = summarise(slack.calls, slack.rateLimited.length, m.tracker, sc, m.seconds, after.peakRssMb, {
    user: (after.cpuTicks - before.cpuTicks) * 10_000,
    system: 0,
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  if (logged.size > 0) {
    const top = [...logged]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([msg, n]) => `${n}× ${msg}`);
    process.stderr.write(`  bot warnings/errors (top): ${top.join('; ')}\n`);
  }
  await agents.close();
  await slack.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

function procStat(pid: number): { peakRssMb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { peakRssMb: Math.round(hwm / 1024), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9]!)) return parseInt(cols[1]!.split(':')[1]!, 16);
    }
  }
  return undefined;
}

const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Bots in scenario 5 (3; `BENCH_REPLICAS=1` runs one bot on Redis, to tell the store from the replicas). */
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 3);
const REPLICA_SECRET = 'bench-replica-secret';

/**
 * Three bots (`BENCH_REPLICAS`) in this process, each on its own port, against one fake Slack and one Redis
 * (`BENCH_REDIS_URL`), the threads started round-robin through them. `shared`: one store
 * namespace, so one rate budget, as replicas of one app run; otherwise each bot has a
 * namespace (and so a budget) of its own, which is what three processes had before the
 * budget moved to Redis. Each session is followed by the bot that started it (nothing
 * here hands sessions between them); the keys are deleted afterwards.
 */
async function runReplicas(sc: Scenario, shared: boolean): Promise<Result> {
  const slack = await startFakeSlack({ enforceRateLimits: true });
  const agents = await startFakeManagedAgents();
  const namespace = `bench-${randomUUID()}`;
  const parsed = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: REPLICA_SECRET,
    SLACK_API_URL: slack.apiUrl,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: agents.url,
    STORE_URL: BENCH_REDIS_URL,
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...BENCH_PEOPLE,
  });
  if (parsed.kind === 'invalid') throw new Error(parsed.message);
  const bots: RunningBot[] = [];
  // One after another: the first makes the default agent, the others find it in the store.
  for (let i = 0; i < REPLICAS; i++) {
    bots.push(
      await startBot(parsed.env, createLogger('silent'), {
        storeNamespace: shared ? namespace : `${namespace}-${i}`,
        statusIntervalMs: 8_000,
        slackBackoffMs: 500,
        closeGraceMs: 1000,
      }),
    );
  }
  const senders = bots.map(
    (bot) => new SlackSender({ url: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: REPLICA_SECRET, fake: slack }),
  );
  let next = 0;
  const m = await measure(
    sc,
    { slack, agents },
    async (prompt, channel) => {
      const res = await senders[next++ % senders.length]!.command({ text: prompt, user: nextPerson(), channel });
      if (res.status !== 200) throw new Error(`ack failed: ${res.status}`);
    },
    sc.windowMs,
  );
  await Promise.all(bots.map((bot) => bot.settled()));
  const by = new Map<string, number>();
  for (const c of slack.calls) if (WRITE_METHODS.has(c.method)) by.set(c.method, (by.get(c.method) ?? 0) + 1);
  process.stderr.write(`  writes by method: ${[...by].map(([method, n]) => `${method} ${n}`).join(', ')}\n`);
  for (const line of await diagnose(
    slack.calls,
    bots.map((bot) => bot.metrics),
  ))
    process.stderr.write(`  ${line}\n`);
  const result = summarise(slack.calls, slack.rateLimited.length, m.tracker, sc, m.seconds, m.peakRssMb, m.cpu);
  await Promise.all(bots.map((bot) => bot.close()));
  await agents.close();
  await slack.close();
  const redis = createClient({ url: BENCH_REDIS_URL });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${namespace}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
  await redis.close();
  return result;
}

async function runNaive(sc: Scenario): Promise<Result> {
  const slack = await startFakeSlack({ enforceRateLimits: true });
  const agents = await startFakeManagedAgents();
  const setup = new Anthropic({ apiKey: 'test-key', baseURL: agents.url, maxRetries: 0 });
  const agent = await setup.beta.agents.create({ name: 'naive', model: 'claude-sonnet-5-5' });
  const env = await setup.beta.environments.create({ name: `naive-${Date.now()}` });
  const bot = new NaiveBot({ slackApiUrl: slack.apiUrl, anthropicUrl: agents.url });
  const m = await measure(
    sc,
    { slack, agents },
    async (prompt, channel) => {
      await bot.start({ agentId: agent.id, environmentId: env.id, channel, prompt }).catch(() => undefined);
    },
    Math.min(sc.windowMs, 45_000),
  );
  await bot.stop();
  const result = summarise(slack.calls, slack.rateLimited.length, m.tracker, sc, m.seconds, m.peakRssMb, m.cpu);
  await agents.close();
  await slack.close();
  return result;
}

function summarise(
  calls: ReadonlyArray<{ method: string }>,
  rateLimited: number,
  tracker: VisibilityTracker,
  sc: Scenario,
  seconds: number,
  peakRssMb: number,
  cpu: NodeJS.CpuUsage,
): Result {
  const writes = calls.filter((c) => WRITE_METHODS.has(c.method)).length;
  return {
    writes,
    perSecond: writes / seconds,
    rateLimited,
    delivered: tracker.lags.length,
    lost: sc.pieces - tracker.lags.length,
    p50: percentile(tracker.lags, 50),
    p95: percentile(tracker.lags, 95),
    slowestP95: slowestThreadP95(tracker.lagsByThread),
    max: tracker.lags.length ? Math.max(...tracker.lags) : Number.NaN,
    seconds,
    peakRssMb,
    cpuUsPerPiece: (cpu.user + cpu.system) / Math.max(1, tracker.emitted),
  };
}

const ms = (n: number) => (Number.isFinite(n) ? `${(n / 1000).toFixed(2)}s` : 'n/a');
const rows: string[][] = [];
for (const [i, sc] of scenarios.entries()) {
  if (ONLY && !ONLY.includes(String(i + 1))) continue;
  const bots: ReadonlyArray<readonly [string, (sc: Scenario) => Promise<Result>]> =
    i === 3
      ? [
          ['ours (own process)', runOursAlone],
          ['naive', runNaive],
        ]
      : i === 4
        ? [
            [`${REPLICAS} bots, one budget`, (s) => runReplicas(s, true)],
            [`${REPLICAS} bots, own budgets`, (s) => runReplicas(s, false)],
          ]
        : [
            ['ours', runOurs],
            ['naive', runNaive],
          ];
  for (const [who, run] of bots) {
    if (process.env.BENCH_OURS_ONLY && (who === 'naive' || who.includes('own budgets'))) continue;
    process.stderr.write(`running ${i + 1}. ${sc.name} (${who})…\n`);
    const r = await run(sc);
    rows.push([
      `${i + 1}. ${sc.name}`,
      who,
      String(r.writes),
      r.perSecond.toFixed(2),
      String(r.rateLimited),
      `${r.delivered}/${sc.pieces}`,
      ms(r.p50),
      ms(r.p95),
      ms(r.slowestP95),
      ms(r.max),
      String(r.peakRssMb),
      r.cpuUsPerPiece.toFixed(0),
    ]);
  }
}

const header = [
  'scenario',
  'bot',
  'writes',
  'writes/s',
  '429s',
  'visible',
  'lag p50',
  'lag p95',
  'slowest thread p95',
  'lag max',
  'RSS MB',
  'CPU µs/msg',
];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (cells: string[]) => cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
console.log(`\nSlack delivery under enforced rate limits (scale ${SCALE}; lag = agent emits a piece → Slack shows it)\n`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log('\nRSS and CPU: scenarios 1-3 and 5 measure the whole bench process (bots and both fakes, and the naive bot);');
console.log('scenario 4 "ours" runs the bot alone in its own process (node dist/src/main.js) and reads its peak RSS (VmHWM) and CPU from /proc.');
console.log('Scenario 5 is scenario 3 through three bots on one Redis: one store namespace (one rate budget), or one each.');
console.log('"visible" counts pieces shown within the window; writes include root and status edits.');
