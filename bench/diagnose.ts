import type { BotMetrics } from '../src/ops/metrics.js';
import type { ApiCall } from '../test/fakes/slack/types.js';

const WINDOW_MS = 60_000;
const SHOWN = ['chat.postMessage', 'chat.update', 'chat.startStream', 'chat.appendStream', 'chat.stopStream'];

/**
 * Where a run's lag came from, printed under its row: how close each budgeted method came to
 * its rate in its busiest minute, how many streams were open at once, and how long writes
 * waited for their budget (summed over every bot of the run, from their write-wait histograms).
 */
export async function diagnose(calls: readonly ApiCall[], metrics: readonly BotMetrics[]): Promise<string[]> {
  const ok = calls.filter((c) => c.status === 200 && c.response.ok === true);
  const busiest = SHOWN.map((method) => `${method} ${busiestWindow(ok.filter((c) => c.method === method).map((c) => c.at))}`);
  const waits = await writeWaits(metrics);
  return [
    `busiest minute: ${busiest.join(', ')}`,
    `streams open at once: at most ${mostOpenStreams(ok)}`,
    `budget wait (s), by method: ${[...waits].map(([m, w]) => `${m} n=${w.count} mean ${w.mean.toFixed(2)} p95≤${w.p95}`).join('; ')}`,
  ];
}

function busiestWindow(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= WINDOW_MS) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

function mostOpenStreams(calls: readonly ApiCall[]): number {
  const events: Array<{ at: number; d: number }> = [];
  for (const c of calls) {
    if (c.method === 'chat.startStream') events.push({ at: c.at, d: 1 });
    if (c.method === 'chat.stopStream') events.push({ at: c.at, d: -1 });
  }
  events.sort((a, b) => a.at - b.at || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of events) {
    open += e.d;
    most = Math.max(most, open);
  }
  return most;
}

type Wait = { count: number; mean: number; p95: string };

async function writeWaits(metrics: readonly BotMetrics[]): Promise<Map<string, Wait>> {
  const sums = new Map<string, { count: number; sum: number; buckets: Map<number, number> }>();
  for (const m of metrics) {
    for (const v of (await m.writeWait.get()).values) {
      const method = String(v.labels.method);
      const s = sums.get(method) ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
      if (v.metricName?.endsWith('_count')) s.count += v.value;
      else if (v.metricName?.endsWith('_sum')) s.sum += v.value;
      else if (v.metricName?.endsWith('_bucket')) {
        // A histogram's buckets carry `le` beside the declared labels.
        const bound = (v.labels as Record<string, string | number | undefined>).le;
        const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
        s.buckets.set(le, (s.buckets.get(le) ?? 0) + v.value);
      }
      sums.set(method, s);
    }
  }
  const out = new Map<string, Wait>();
  for (const [method, s] of sums) {
    if (!SHOWN.includes(method) || s.count === 0) continue;
    // The first bucket bound that holds 95% of the waits (the histogram's own resolution).
    const le = [...s.buckets].sort((a, b) => a[0] - b[0]).find(([, n]) => n >= 0.95 * s.count)?.[0];
    out.set(method, { count: s.count, mean: s.sum / s.count, p95: le === undefined ? '?' : String(le) });
  }
  return out;
}
