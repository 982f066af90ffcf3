import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let redis: ChildProcess | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await stopRedis();
});

const rootOf = (harness: Harness) => harness.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);

async function scrape(harness: Harness): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${harness.bot.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one sample (`name{labels}`), 0 when the series is not there yet. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function readyz(harness: Harness): Promise<{ status: number; body: { ok: boolean; reason?: string; failing?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${harness.bot.port}/readyz`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; reason?: string; failing?: string[] } };
}

/** Asks /readyz until it answers `status` (Redis reconnects on its own schedule; there is no event to await). */
async function readyzBecomes(harness: Harness, status: number): Promise<{ ok: boolean; reason?: string; failing?: string[] }> {
  for (let i = 0; i < 200; i++) {
    const r = await readyz(harness);
    if (r.status === status) return r.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`/readyz never answered ${status}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function startRedis(port: number): Promise<void> {
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    redis!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    redis!.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
}

async function stopRedis(): Promise<void> {
  const child = redis;
  redis = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

describe('GET /metrics', () => {
  it('counts a turn: agent events, Slack calls by outcome, write waits, delivery lag, and a 429', async () => {
    h = await startHarness();
    const harness = h;
    const before = await scrape(harness);
    harness.agents.onTurn = async (turn) => {
      await turn.message('Counted words.', { deltas: ['Counted ', 'words.'] });
      await turn.gate('more');
    };
    harness.slack.failNext('chat.update', { retryAfter: 1 });
    await harness.sender.command({ text: 'go', user: 'U1', channel: 'C1' });
    await harness.slack.waitFor(() => harness.slack.messages('C1').some((m) => m.thread_ts && m.markdown_text?.includes('Counted words.')));
    // While the turn runs its session is held in memory.
    expect(await scrape(harness)).toMatch(/slack_agents_sessions\{state="active"\} 1/);
    harness.agents.release('more');
    await harness.slack.waitFor(() => JSON.stringify(rootOf(harness)?.blocks ?? '').includes('Done'));
    await harness.bot.settled();
    const after = await scrape(harness);

    const moved = (series: string) => sample(after, series) - sample(before, series);
    expect(moved('slack_agents_agent_events_total{type="agent.message"}')).toBeGreaterThanOrEqual(1);
    expect(moved('slack_agents_slack_calls_total{method="chat.postMessage",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(moved('slack_agents_slack_calls_total{method="chat.update",outcome="ratelimited"}')).toBe(1);
    expect(moved('slack_agents_slack_rate_limited_total{method="chat.update"}')).toBe(1);
    expect(moved('slack_agents_write_wait_seconds_count{method="chat.postMessage"}')).toBeGreaterThanOrEqual(1);
    const lagWrites = ['post', 'start_stream', 'append', 'stop'].reduce(
      (n, step) => n + moved(`slack_agents_delivery_lag_seconds_count{step="${step}"}`),
      0,
    );
    expect(lagWrites).toBeGreaterThanOrEqual(1);
    // Read at scrape time: present, whatever their value.
    for (const name of ['slack_agents_write_queue_depth', 'slack_agents_lease_handovers_total', 'slack_agents_stream_reconnects_total']) {
      expect(after).toContain(`# TYPE ${name}`);
    }
    expect(sample(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(after).toContain('nodejs_eventloop_lag_seconds{quantile="0.99"}');
  });

  it('is served in Socket Mode on the health server’s port, per bot instance', async () => {
    h = await startHarness({}, { socketMode: true });
    const other = await startHarness();
    try {
      const mine = await scrape(h);
      expect(mine).toContain('# TYPE slack_agents_slack_calls_total counter');
      // auth.test at start, counted by each bot in its own registry.
      expect(sample(mine, 'slack_agents_slack_calls_total{method="auth.test",outcome="ok"}')).toBe(1);
      expect(sample(await scrape(other), 'slack_agents_slack_calls_total{method="auth.test",outcome="ok"}')).toBe(1);
    } finally {
      await other.close();
    }
  });
});

describe('GET /readyz', () => {
  it('fails with the reason while Redis is unreachable and recovers with it; /healthz stays up', async () => {
    const port = await freePort();
    await startRedis(port);
    h = await startHarness({ STORE_URL: `redis://127.0.0.1:${port}` }, { storeNamespace: `test-${randomUUID()}` });
    const harness = h;
    expect(await readyz(harness)).toEqual({ status: 200, body: { ok: true } });

    await stopRedis();
    const down = await readyzBecomes(harness, 503);
    expect(down).toMatchObject({ ok: false, failing: ['redis'] });
    expect(down.reason).toContain('redis');
    expect((await fetch(`http://127.0.0.1:${harness.bot.port}/healthz`)).status).toBe(200);

    await startRedis(port);
    expect(await readyzBecomes(harness, 200)).toEqual({ ok: true });
  });

  it('fails while Slack does not answer auth.test', async () => {
    h = await startHarness();
    h.slack.failNext('auth.test', { drop: true });
    expect(await readyz(h)).toEqual({ status: 503, body: { ok: false, reason: 'cannot reach: slack', failing: ['slack'] } });
    expect(await readyz(h)).toEqual({ status: 200, body: { ok: true } });
  });
});
