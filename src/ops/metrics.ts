import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a Slack call ended, as counted: Slack's own refusals apart from transport failures. */
export type SlackCallOutcome = 'ok' | 'ratelimited' | 'slack_error' | 'transport_error';

/** Seconds; the delivery lag buckets reach past the bench's slowest thread (tens of seconds). */
const LAG_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128];
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];

/**
 * One bot instance's metrics, in a registry of its own (never prom-client's global one),
 * so several bots in one process (the tests, the bench) keep apart. Parts get the
 * counters they move; what is read at scrape time (sessions, queue depth) is watched
 * through `watch`. The event-loop monitor is owned here and stopped by close().
 */
export class BotMetrics {
  readonly registry = new Registry();
  readonly agentEvents: Counter<'type'>;
  readonly slackCalls: Counter<'method' | 'outcome'>;
  readonly rateLimited: Counter<'method'>;
  readonly writeWait: Histogram<'method'>;
  /** From when the bot had the words to when Slack took the write carrying them (oldest word of the write). */
  readonly deliveryLag: Histogram<'step'>;
  readonly streamReconnects: Counter<'reason'>;
  /** Sessions this replica took over from another one (moved by the lease code), by how: `lapsed` (its holder stopped renewing) or `handed_over` (given back on shutdown). */
  readonly leaseHandovers: Counter<'how'>;
  /** Clicks on the feedback buttons under finished answers, by rating (good, bad). */
  readonly feedback: Counter<'rating'>;
  private readonly loop: ELDHistogram;
  private sources: { sessions: () => Record<string, number>; writeQueue: () => number } = { sessions: () => ({}), writeQueue: () => 0 };

  constructor() {
    const registers = [this.registry];
    this.agentEvents = new Counter({
      name: 'slack_agents_agent_events_total',
      help: 'Agent events folded, by type.',
      labelNames: ['type'],
      registers,
    });
    this.slackCalls = new Counter({
      name: 'slack_agents_slack_calls_total',
      help: 'Slack Web API calls made, by method and outcome.',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'slack_agents_slack_rate_limited_total',
      help: 'Slack answers of 429, by method.',
      labelNames: ['method'],
      registers,
    });
    this.writeWait = new Histogram({
      name: 'slack_agents_write_wait_seconds',
      help: 'Time a Slack write waited for its rate budget, by method.',
      labelNames: ['method'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.deliveryLag = new Histogram({
      name: 'slack_agents_delivery_lag_seconds',
      help: 'Agent words received to visible in Slack (the oldest word of each write), by text step.',
      labelNames: ['step'],
      buckets: LAG_BUCKETS,
      registers,
    });
    this.streamReconnects = new Counter({
      name: 'slack_agents_stream_reconnects_total',
      help: 'Agent event streams reopened, by why (ended, silent, failed).',
      labelNames: ['reason'],
      registers,
    });
    this.leaseHandovers = new Counter({
      name: 'slack_agents_lease_handovers_total',
      help: 'Sessions taken over from another replica, by how: lapsed (its holder stopped renewing) or handed_over (given back on shutdown).',
      labelNames: ['how'],
      registers,
    });
    this.feedback = new Counter({
      name: 'slack_agents_feedback_total',
      help: 'Feedback button clicks on finished answers, by rating (good, bad).',
      labelNames: ['rating'],
      registers,
    });
    const sources = () => this.sources;
    new Gauge({
      name: 'slack_agents_sessions',
      help: 'Sessions this process holds in memory, by thread status.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(sources().sessions())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'slack_agents_write_queue_depth',
      help: 'Slack writes of this process waiting for their rate budget.',
      registers,
      collect() {
        this.set(sources().writeQueue());
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage().rss);
      },
    });
    new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap in use, in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    this.loop = monitorEventLoopDelay({ resolution: 20 });
    this.loop.enable();
    const loop = this.loop;
    new Gauge({
      name: 'nodejs_eventloop_lag_seconds',
      help: 'Event-loop delay since the last scrape, by quantile (0.5, 0.99, 1 = max).',
      labelNames: ['quantile'],
      registers,
      collect() {
        const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
        this.set({ quantile: '0.5' }, s(loop.percentile(50)));
        this.set({ quantile: '0.99' }, s(loop.percentile(99)));
        this.set({ quantile: '1' }, s(loop.max));
        loop.reset();
      },
    });
  }

  /** What is read at scrape time, once the parts that know it exist. */
  watch(sources: { sessions: () => Record<string, number>; writeQueue: () => number }): void {
    this.sources = sources;
  }

  /** The Prometheus text exposition of every metric. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.loop.disable();
  }
}
