import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeManagedAgents } from '../../fakes/managed-agents/index.js';
import { SlackSender, type FakeSlack } from '../../fakes/slack/index.js';
import { AgentTap } from './agent-tap.js';
import { BotProcess, freePort } from './bot-process.js';
import type { RedisServer } from './redis-server.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';
import { SlackTap } from './slack-tap.js';

export const SIGNING_SECRET = 'replica-test-signing-secret';

export interface Replica {
  name: string;
  /** Its own port, kept across restarts (the proxy's upstream list does not change). */
  port: number;
  bot: BotProcess;
  /** Signed requests straight to this replica, past the proxy. */
  sender: SlackSender;
}

/**
 * Several real bot processes (HTTP mode) sharing one Redis (STORE_URL), behind a
 * round-robin proxy that the fake Slack's requests go through: a deployment of several
 * replicas behind a load balancer, on loopback. Each replica reaches the fake Managed
 * Agents server through its own tap, and the fake Slack's Web API through another
 * (`slackTap`), so a test can tell which replica sent, follows or wrote what. Replicas are killed with SIGKILL, stopped with SIGTERM and started again on the
 * same port; `close` ends every process and socket it opened (the Redis belongs to the caller).
 */
export class ReplicaSet {
  private constructor(
    readonly proxy: RoundRobinProxy,
    readonly tap: AgentTap,
    readonly slackTap: SlackTap,
    readonly replicas: Replica[],
    /** Signed requests through the proxy, as Slack sends them to the app's one Request URL. */
    readonly sender: SlackSender,
  ) {}

  static async start(o: {
    count: number;
    redis: RedisServer;
    slack: FakeSlack;
    agents: FakeManagedAgents;
    /** Added to (and overriding) the environment every replica shares. */
    env?: Record<string, string>;
    /** startBot's test knobs (BotOptions), the same for every replica. */
    options?: Record<string, unknown>;
    /** false: the replicas are made but not started. */
    startAll?: boolean;
  }): Promise<ReplicaSet> {
    const ports: number[] = [];
    for (let i = 0; i < o.count; i++) {
      let port = await freePort();
      while (ports.includes(port)) port = await freePort();
      ports.push(port);
    }
    const proxy = await startRoundRobinProxy(ports);
    const tap = new AgentTap(o.agents);
    const slackTap = new SlackTap(o.slack);
    const env = {
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      ANTHROPIC_API_KEY: 'test-key',
      STORE_URL: o.redis.url,
      LOG_LEVEL: 'info',
      // Node keeps the compiled code of the bot and its dependencies here: every start of a
      // replica after the first skips compiling them again.
      NODE_COMPILE_CACHE: join(tmpdir(), 'slack-agents-e2e-compile-cache'),
      ...o.env,
    };
    const replicas: Replica[] = [];
    for (const [i, port] of ports.entries()) {
      const name = `replica-${i + 1}`;
      replicas.push({
        name,
        port,
        bot: new BotProcess(
          { ...env, ANTHROPIC_BASE_URL: await tap.urlFor(name), SLACK_API_URL: await slackTap.urlFor(name), PORT: String(port) },
          o.options ?? {},
        ),
        sender: new SlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, fake: o.slack }),
      });
    }
    const sender = new SlackSender({ url: `${proxy.url}/slack/events`, signingSecret: SIGNING_SECRET, fake: o.slack });
    const set = new ReplicaSet(proxy, tap, slackTap, replicas, sender);
    if (o.startAll !== false) {
      try {
        await set.startAll();
      } catch (error) {
        await set.close();
        throw error;
      }
    }
    return set;
  }

  /** Starts every replica at the same moment and waits until all are ready. */
  async startAll(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.bot.start()));
  }

  replica(i: number): Replica {
    const r = this.replicas[i];
    if (!r) throw new Error(`no replica ${i}`);
    return r;
  }

  indexOf(name: string): number {
    const i = this.replicas.findIndex((r) => r.name === name);
    if (i < 0) throw new Error(`no replica named ${name}`);
    return i;
  }

  /** kill -9 of one replica: no shutdown code runs, its connections are cut where they are. */
  kill(i: number): Promise<void> {
    return this.replica(i).bot.kill();
  }

  start(i: number): Promise<void> {
    return this.replica(i).bot.start();
  }

  /** SIGSTOP: the process is frozen where it is (as a GC pause or a frozen VM leaves it), its sockets open. */
  pause(i: number): void {
    this.replica(i).bot.signal('SIGSTOP');
  }

  /** SIGCONT after `pause`: its timers all come due at once. */
  resume(i: number): void {
    this.replica(i).bot.signal('SIGCONT');
  }

  /** SIGTERM (the replica finishes its writes in flight, as on a deploy), then a new process on the same port. */
  async restart(i: number): Promise<void> {
    await this.replica(i).bot.stop();
    await this.replica(i).bot.start();
  }

  /**
   * A rolling restart, as a deploy replaces replicas one by one: for each replica in turn,
   * `before(i)`, then SIGTERM and a new process on the same port, then `after(i)` (e.g. until
   * the running turns moved on) before the next one is stopped.
   */
  async rollingRestart(hooks: { before?: (i: number) => Promise<void> | void; after?: (i: number) => Promise<void> | void } = {}): Promise<void> {
    for (let i = 0; i < this.replicas.length; i++) {
      await hooks.before?.(i);
      await this.restart(i);
      await hooks.after?.(i);
    }
  }

  /**
   * SIGTERM to every live replica at once: each finishes its handler work and Slack writes
   * in flight and exits, so what the fakes hold afterwards is all the replicas did.
   */
  async stopAll(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.bot.stop()));
  }

  /**
   * Resolves with the predicate's first truthy value, checked on every line a replica writes
   * (their logs reach the test as they are written, not when the fakes next change).
   */
  waitForLogs<T>(predicate: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const stops: Array<() => void> = [];
      const stop = () => {
        clearTimeout(timer);
        for (const s of stops) s();
      };
      const check = () => {
        const v = predicate();
        if (!v) return;
        stop();
        resolve(v);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`replica logs: timed out after ${timeoutMs} ms: ${predicate.toString()}`));
      }, timeoutMs);
      for (const r of this.replicas) stops.push(r.bot.onOutput(check));
      check();
    });
  }

  /** What every replica logged at or above `level`, each line with the replica's name. */
  logs(level: 'debug' | 'info' | 'warn' | 'error' = 'info'): Array<Record<string, unknown> & { replica: string }> {
    return this.replicas.flatMap((r) => r.bot.logs(level).map((l) => ({ ...l, replica: r.name })));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.replicas.map((r) => r.bot.close()));
    await this.proxy.close();
    await this.tap.close();
    await this.slackTap.close();
  }
}
