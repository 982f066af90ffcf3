import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Env } from './config/env.js';
import { AgentsConfigError, loadAgentsConfig } from './config/load-agents-file.js';
import { createAgentsClient } from './agents/client.js';
import { resolveAgentTarget } from './agents/defaults.js';
import { AgentProfiles } from './agents/profiles.js';
import { SessionAgents } from './agents/session-agent.js';
import { provisionProfiles } from './agents/provision.js';
import { ToolRegistry } from './agents/tools/registry.js';
import { Bridge } from './bridge/bridge.js';
import { FileIntake } from './bridge/file-intake.js';
import { SlackCallError, SlackWriter } from './delivery/slack-writer.js';
import type { React } from './bridge/runner/receipts.js';
import { openBudgetStore, openStreamSlots } from './delivery/open-budget-store.js';
import { WriteScheduler } from './delivery/write-scheduler.js';
import { RedisBudgetStore } from './delivery/redis-budget-store.js';
import { BotMetrics } from './ops/metrics.js';
import { allAnswer, checkReadiness, type ReadinessCheck } from './ops/readiness.js';
import type { TextLimits } from './delivery/text-plan.js';
import { createHttpServer } from './ops/http-server.js';
import { delay } from './ops/delay.js';
import { TaskSet } from './ops/task-set.js';
import type { Logger } from './ops/logger.js';
import { createBoltApp } from './slack/bolt-app.js';
import { boltLogger } from './slack/bolt-logger.js';
import { InboundEdge, SLACK_RESPONSE_ORIGINS } from './slack/edge.js';
import { admitStoredStart, ephemeral, LISTENED, registerHandlers, resumeSteer } from './slack/handlers.js';
import { SteerLedger } from './slack/steer-ledger.js';
import { ClickLedger } from './slack/click-ledger.js';
import { replicaSeat } from './replicas/replicas.js';
import { HomePublisher } from './slack/home-publisher.js';
import { registerNativeHandlers } from './slack/native-handlers.js';
import { NativeStatus } from './slack/native-status.js';
import { SessionBoard } from './slack/session-board.js';
import type { SessionWatch } from './bridge/runner/runner-deps.js';
import { openCoordination } from './store/coordination.js';
import { HomeIndex } from './store/home-index.js';
import { NativeSupportStore } from './store/native-support.js';
import { openStore } from './store/open-store.js';
import { startPruner, type PassOutcome } from './store/pruner.js';
import { DAY_MS } from './store/retention.js';
import { ThreadRecords, type ThreadRecord } from './store/thread-records.js';
import { SlackAccounts } from './access/accounts.js';
import { AccessGuard } from './access/guard.js';
import type { AccessRules } from './access/policy.js';
import { capForSession } from './access/spend-cap.js';
import { logStartWarning } from './access/startup-check.js';
import { AuditTrail } from './ops/audit.js';

export type RunningBot = {
  port: number;
  mode: 'http' | 'socket';
  bridge: Bridge;
  /** This instance's metrics (its own registry); the lease code counts hand-overs on `leaseHandovers`. */
  metrics: BotMetrics;
  /** Which agent sessions run, and each profile's approvers (`approversFor`). */
  profiles: AgentProfiles;
  /** The store's prune pass running now or last (tests). */
  lastPrune(): Promise<PassOutcome | undefined>;
  /** Resolves once handler work started so far and its Slack writes are done (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
  /**
   * Stops as a killed process would leave things (tests): leases are neither renewed nor
   * given back and nothing more is written, so another replica must take its threads over.
   */
  kill(): Promise<void>;
};

export type BotOptions = {
  // Test knobs; production uses the defaults.
  /** Least time between status edits of one running thread (root card, activity). */
  statusIntervalMs?: number;
  /** Streams open at once in the workspace (they share one appendStream budget). */
  maxStreams?: number;
  textLimits?: Partial<TextLimits>;
  /** How long shutdown lets handler work in flight, and then pending Slack writes, finish (each). */
  closeGraceMs?: number;
  /** Backoff before retrying a Slack call that failed in transport, and before a new delivery pass after an outage. */
  slackBackoffMs?: number;
  streamBackoff?: { initialMs: number; maxMs: number };
  /** How long an agent event stream may go without a byte, heartbeats included, before it is replaced (default 20 s). */
  streamSilenceMs?: number;
  /** Key prefix in the store, so tests can share one Redis. */
  storeNamespace?: string;
  /** How long an ask_user question waits for a person (default 24 h). */
  questionTimeoutMs?: number;
  /** Waits before listing a turn's output files again when none show yet. */
  outputRetryDelaysMs?: readonly number[];
  /** Waits before looking for (and archiving) a session a failed create may have left. */
  orphanSweepDelaysMs?: readonly number[];
};

/** How long /readyz waits for each dependency: Redis not answering by then is unreachable, Slack is slow (still up). */
const READINESS_TIMEOUT_MS = 2000;

/** Composition root: config → store → clients → bridge → Slack app → HTTP server. */
export async function startBot(env: Env, log: Logger, options: BotOptions = {}): Promise<RunningBot> {
  // What is opened before the bot is running is closed again when a later step fails (Slack
  // refusing the token, provisioning failing): a caller that retries or a test that goes on
  // must not be left with Redis connections and a store file open.
  const opened: Array<() => unknown> = [];
  try {
    return await assemble(env, log, options, opened);
  } catch (error) {
    for (const undo of opened.reverse()) {
      try {
        await undo();
      } catch (closeError) {
        log.warn({ err: closeError }, 'could not close what a failed start had opened');
      }
    }
    throw error;
  }
}

async function assemble(env: Env, log: Logger, options: BotOptions, opened: Array<() => unknown>): Promise<RunningBot> {
  const tools = new ToolRegistry();
  // A broken profiles file stops the start before anything is opened or created.
  const agentsConfig = env.AGENTS_CONFIG
    ? await loadAgentsConfig(
        env.AGENTS_CONFIG,
        tools.tools.map((t) => t.name),
      )
    : undefined;
  if (agentsConfig?.kind === 'invalid') throw new AgentsConfigError(agentsConfig.lines);

  const namespace = options.storeNamespace ?? 'slack-agents';
  const kv = await openStore(env.STORE_URL, namespace);
  opened.push(() => kv.disconnect());
  kv.on('error', (error: unknown) => log.error({ err: error }, 'store error'));
  const coordination = await openCoordination(env.STORE_URL, kv, options.storeNamespace);
  opened.push(() => coordination.close());
  coordination.redis?.on('error', (error: unknown) => log.error({ err: error }, 'redis coordination error'));
  // Replicas starting together provision one at a time: the first creates or updates the
  // agents and environments, each later one finds them matching and changes nothing.
  const provisioning = coordination.mutex();
  const clientOptions: WebClientOptions = {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
    // Our SlackWriter decides about retries and 429s; the client must not do it twice.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    // The client's own queue (100 by default) would hold writes that already waited for
    // their budget and then release them in a bunch, which Slack answers with 429s (seen
    // at 1,000 sessions). The write scheduler paces writes; this only bounds a pile-up.
    maxRequestConcurrency: 1000,
    logger: boltLogger(log),
  };
  const metrics = new BotMetrics();
  opened.push(() => metrics.close());
  const budgets = await openBudgetStore(env.STORE_URL, namespace, log.child({ component: 'rate-budget' }));
  opened.push(() => budgets.close());
  const scheduler = new WriteScheduler({
    store: budgets,
    // The store's client says once when Redis goes away; each lane's retry is only debug.
    onStoreError: (error) => log.debug({ err: error }, 'rate budget store did not answer; retrying'),
    onGranted: (method, waitedMs) => metrics.writeWait.observe({ method }, waitedMs / 1000),
  });
  const writer = new SlackWriter(new WebClient(env.SLACK_BOT_TOKEN, clientOptions), log.child({ component: 'slack-writer' }), {
    scheduler,
    metrics,
    ...(options.slackBackoffMs !== undefined ? { backoffMs: options.slackBackoffMs } : {}),
  });
  opened.push(() => writer.close());
  const identity = (await writer.call('auth.test', {})) as { user_id?: string; bot_id?: string; team_id?: string; url?: string };
  if (!identity.user_id || !identity.bot_id) throw new Error('auth.test did not return the bot user and bot ids');
  log.info({ botUserId: identity.user_id, botId: identity.bot_id, team: identity.team_id }, 'slack identity');

  const client = createAgentsClient({ apiKey: env.ANTHROPIC_API_KEY, ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}) });
  let profiles: AgentProfiles;
  if (agentsConfig) {
    const config = agentsConfig.config;
    const provisioned = await provisioning.run('provision', () =>
      provisionProfiles({ client, tools, log: log.child({ component: 'provision' }) }, config),
    );
    profiles = AgentProfiles.fromConfig(agentsConfig.config, provisioned.profiles);
    log.info({ file: agentsConfig.config.file, profiles: Object.fromEntries(provisioned.profiles) }, 'agent profiles');
  } else {
    const target = await provisioning.run('provision', () =>
      resolveAgentTarget({
        client,
        kv,
        tools,
        log,
        ...(env.AGENT_ID ? { agentId: env.AGENT_ID } : {}),
        ...(env.ENVIRONMENT_ID ? { environmentId: env.ENVIRONMENT_ID } : {}),
      }),
    );
    log.info(target, 'agent target');
    profiles = AgentProfiles.fixed(target);
  }

  // An agent lacking the bot's custom tools is named once here; its sessions get them anyway.
  const sessionAgents = new SessionAgents(client, tools, log);
  await sessionAgents.check(profiles.targets(tools.tools.map((t) => t.name)));

  const records = new ThreadRecords(kv, { retentionMs: env.RECORD_RETENTION_DAYS * DAY_MS, mutex: coordination.mutex() });
  const intake = new FileIntake({
    client,
    writer,
    log: log.child({ component: 'file-intake' }),
    slackToken: env.SLACK_BOT_TOKEN,
    // A Slack stand-in (SLACK_API_URL) serves its files from its own origin.
    slackOrigins: env.SLACK_API_URL ? [new URL(env.SLACK_API_URL).origin] : [],
  });
  // Receipts reach Slack through this one function; an emoji already there counts as added.
  const react: React = (channel, ts, name, urgency, guard) =>
    (guard ? writer.guarded(guard) : writer).call('reactions.add', { channel, timestamp: ts, name }, urgency).then(
      () => undefined,
      (error: unknown) => {
        if (!(error instanceof SlackCallError && error.slackError === 'already_reacted')) throw error;
      },
    );
  const approversFor = (record: ThreadRecord) => [...new Set([...env.APPROVERS, ...profiles.approversFor(record.profile)])];
  // Several replicas on one Redis: each follows the threads it holds the lease of.
  const replicas = coordination.redis
    ? replicaSeat({ redis: coordination.redis, prefix: coordination.prefix, leaseMs: env.LEASE_MS, log })
    : undefined;
  if (replicas) log.info({ replica: replicas.holder, leaseMs: env.LEASE_MS }, 'replica on a shared Redis store');
  // Slack's own agent surfaces, drawn from what every runner folds: the native session
  // status (with its fallback per workspace) and the Home tab's board of sessions.
  const native = new NativeStatus({ writer, log: log.child({ component: 'native-status' }), store: new NativeSupportStore(kv), records });
  if (identity.team_id) await native.learn(identity.team_id);
  const homeIndex = new HomeIndex(kv, records, { mutex: coordination.mutex() });
  let home: HomePublisher | undefined;
  const board = new SessionBoard({
    index: homeIndex,
    log: log.child({ component: 'home' }),
    onStateChange: (owner, team) => home?.sessionChanged(owner, team),
  });
  const watch: SessionWatch = {
    observe: (record, state) => {
      native.observe(record, state);
      board.observe(record, state);
    },
    forget: (ref) => {
      native.forget(ref);
      board.forget(ref);
    },
  };
  // Slack clears a thread's loading messages when the bot replies there: they are set again.
  writer.onThreadReply = (channel, threadTs) => native.replied(identity.team_id ?? 'workspace', channel, threadTs);
  // With Redis, the limit of streams open at once is the workspace's, counted across replicas.
  const streams = await openStreamSlots(
    env.STORE_URL,
    { namespace, team: identity.team_id ?? 'workspace', limit: options.maxStreams ?? 2, holdMs: env.LEASE_MS },
    log.child({ component: 'stream-slots' }),
  );
  opened.push(() => streams.close());
  const bridge = new Bridge({
    client,
    writer,
    react,
    watch,
    records,
    tools,
    log,
    botUserId: identity.user_id,
    profiles,
    approversFor,
    admins: env.ADMIN_USERS,
    spendCapFor: (profile) =>
      capForSession({ profileUsd: profiles.budgetUsdFor(profile), defaultUsd: env.SESSION_BUDGET_USD, maxUsd: env.SESSION_BUDGET_MAX_USD }),
    intake,
    sessionAgents,
    streams,
    metrics,
    ...(options.questionTimeoutMs !== undefined ? { questionTimeoutMs: options.questionTimeoutMs } : {}),
    ...(options.statusIntervalMs !== undefined ? { statusIntervalMs: options.statusIntervalMs } : {}),
    ...(options.textLimits ? { textLimits: options.textLimits } : {}),
    ...(options.closeGraceMs !== undefined ? { closeGraceMs: options.closeGraceMs } : {}),
    ...(options.slackBackoffMs !== undefined ? { retryDelayMs: options.slackBackoffMs * 10 } : {}),
    ...(options.streamBackoff ? { streamBackoff: options.streamBackoff } : {}),
    ...(options.streamSilenceMs !== undefined ? { streamSilenceMs: options.streamSilenceMs } : {}),
    ...(options.outputRetryDelaysMs ? { outputRetryDelaysMs: options.outputRetryDelaysMs } : {}),
    ...(options.orphanSweepDelaysMs ? { orphanSweepDelaysMs: options.orphanSweepDelaysMs } : {}),
    ...(replicas ? { replicas: { leases: replicas.leases, relay: replicas.relay }, handovers: metrics.leaseHandovers } : {}),
  });
  opened.push(() => bridge.close({ handOver: true }));
  if (replicas) {
    opened.push(() => replicas.relay.close());
    await replicas.relay.start(
      (ref, from, id) => bridge.woken(ref, from, id),
      () => bridge.drainHeld(),
    );
    opened.push(() => replicas.leases.close());
    replicas.leases.start();
  }

  const rules: AccessRules = {
    allowedUsers: env.ALLOWED_USERS,
    allowedChannels: env.ALLOWED_CHANNELS,
    allowDms: env.ALLOW_DMS,
    allowGuests: env.ALLOW_GUESTS,
    admins: env.ADMIN_USERS,
    maxRunningPerUser: env.MAX_RUNNING_PER_USER,
    maxPromptChars: env.MAX_PROMPT_CHARS,
  };
  const audit = new AuditTrail(log);
  const guard = new AccessGuard({
    bridge,
    records,
    profiles,
    rules,
    accounts: new SlackAccounts(writer, log.child({ component: 'accounts' })),
    approversFor,
    audit,
    log,
    startLock: coordination.mutex(),
    starts: coordination.starts,
  });
  await logStartWarning({ client, profiles, env, log });

  const background = new TaskSet(log);
  const track = (work: Promise<unknown>) => background.add(work);

  const bolt = createBoltApp({
    botToken: env.SLACK_BOT_TOKEN,
    ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
    ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
    botId: identity.bot_id,
    botUserId: identity.user_id,
    clientOptions,
    log,
  });
  bolt.app.error(async (error) => {
    log.error({ err: error }, 'slack listener error');
  });
  home = new HomePublisher({
    writer,
    index: homeIndex,
    isAdmin: (user) => guard.isAdmin(user),
    log: log.child({ component: 'home' }),
    workspaceUrl: identity.url,
  });
  const base = { bridge, guard, records, seen: coordination.seen, writer, log, botUserId: identity.user_id, track };
  const clicks = new ClickLedger({
    records,
    log: log.child({ component: 'clicks' }),
    track,
    holder: replicas?.holder,
    alive: (holder) => replicas?.relay.alive(holder) ?? Promise.resolve(false),
    tell: (m) => ephemeral(base, m),
  });
  const steers = new SteerLedger({
    records,
    log: log.child({ component: 'steers' }),
    holder: replicas?.holder,
    alive: (holder) => replicas?.relay.alive(holder) ?? Promise.resolve(false),
  });
  const handlerDeps = { ...base, clicks, steers };
  registerHandlers(bolt.app, handlerDeps);
  bridge.admitStoredStartsWith(admitStoredStart(handlerDeps));
  registerNativeHandlers(bolt.app, { ...handlerDeps, native, home, profiles, audit, metrics, allowDms: env.ALLOW_DMS });
  const edge = new InboundEdge({
    listened: LISTENED,
    writer,
    log: log.child({ component: 'inbound' }),
    track,
    ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
    // A Slack stand-in (SLACK_API_URL) serves response URLs from its own origin.
    responseOrigins: [...SLACK_RESPONSE_ORIGINS, ...(env.SLACK_API_URL ? [new URL(env.SLACK_API_URL).origin] : [])],
  });
  if (bolt.socketClient) edge.guardSocket(bolt.socketClient);

  let ready = false;
  metrics.watch({ sessions: () => bridge.sessionStates(), writeQueue: () => scheduler.queued() });
  // Readiness asks Slack itself, once per probe, with a client of its own: one attempt. Slack is
  // the one dependency every replica shares, so only a transport failure (refused, reset, no
  // answer on a closed connection) makes this replica unready: any HTTP answer (a 429, a 5xx,
  // a Slack error) means Slack is there, and a slow answer counts as up (README, Health and metrics).
  const probe = new WebClient(env.SLACK_BOT_TOKEN, { ...clientOptions, timeout: 2 * READINESS_TIMEOUT_MS });
  const coordinationRedis = coordination.redis;
  const redisPings = [
    ...(budgets instanceof RedisBudgetStore ? [() => budgets.ping()] : []),
    ...(coordinationRedis
      ? [
          () =>
            coordinationRedis.ping().then(
              (r) => r === 'PONG',
              () => false,
            ),
        ]
      : []),
    // A replica whose relay subscriber is disconnected hears no wake-up for the threads it holds.
    ...(replicas ? [() => replicas.relay.listening()] : []),
  ];
  const checks: ReadinessCheck[] = [
    {
      name: 'slack',
      slowIsUp: true,
      check: () =>
        probe.auth.test().then(
          (r) => r.ok === true,
          (error: unknown) => (error as { code?: unknown } | undefined)?.code !== ErrorCode.RequestError,
        ),
    },
    ...(redisPings.length > 0 ? [{ name: 'redis', check: () => allAnswer(redisPings) }] : []),
  ];
  const slackEndpoint = bolt.httpListener ? { listener: bolt.httpListener, gate: edge.http.bind(edge) } : undefined;
  const server = createHttpServer({
    isReady: () => ready,
    readiness: () => checkReadiness(checks, READINESS_TIMEOUT_MS),
    metrics: () => metrics.scrape(),
    log,
    ...(slackEndpoint ? { slack: slackEndpoint } : {}),
  });
  opened.push(
    () => bolt.stop(),
    () => native.close(),
    () => board.close(),
    () => home?.close(),
  );
  const port = await listen(server, env.PORT);
  opened.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  if (bolt.mode === 'socket') await bolt.app.start();
  ready = true;
  log.info({ port, mode: bolt.mode }, 'bot is ready');
  // Then starts cut off between their root card and their thread record (after, so the two never overlap).
  // Then clicks a stop cut short (acked, not known to be carried out) are told to their person,
  // and replies it cut short are handed to their session (looking first whether they reached it).
  // Then, with several replicas, threads whose replica stopped renewing their lease are taken over.
  track(
    bridge
      .resumeActive()
      .then(() => bridge.resumePendingStarts())
      .then(() => clicks.tellInterrupted())
      .then(() => steers.resume(resumeSteer(handlerDeps)))
      .finally(() => bridge.followLapsed()),
  );
  const pruner = startPruner({ records, kv, log: log.child({ component: 'store' }) });

  const settled = async () => {
    await background.settled();
    await bridge.settled();
    await board.settled();
    // Not the native status: at Tier 3 for a whole workspace its writes can trail the
    // threads by minutes when many sessions run, and nothing else waits on them.
    await home?.settled();
  };

  let closing: Promise<void> | undefined;
  const close = async (o: { handOver: boolean } = { handOver: true }) => {
    ready = false;
    // A crash (tests): this replica stops renewing and writing at once, and gives nothing back.
    if (!o.handOver) await Promise.all([replicas?.leases.abandon(), streams.abandon()]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await bolt.stop();
    // Inbound is closed: let handler work in flight finish (bounded), then the bridge.
    await Promise.race([Promise.allSettled(background.current()), delay(options.closeGraceMs ?? 10_000).catch(() => undefined)]);
    // Threads still mid-turn are handed to the other replicas (their leases given back as lapsed).
    await bridge.close(o);
    await replicas?.relay.close(options.closeGraceMs ?? 10_000);
    await replicas?.leases.close();
    native.close();
    // What the runners folded last (a turn's end at shutdown) is in the store for the next Home tab.
    await board.settled();
    board.close();
    home?.close();
    await pruner.close();
    writer.close();
    await streams.close();
    await budgets.close();
    await kv.disconnect();
    metrics.close();
    await coordination.close();
    log.info('bot stopped');
  };
  return {
    port,
    mode: bolt.mode,
    bridge,
    metrics,
    profiles,
    settled,
    lastPrune: () => pruner.lastPass(),
    close: () => (closing ??= close()),
    kill: () => (closing ??= close({ handOver: false })),
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
