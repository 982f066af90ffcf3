/**
 * Spine latency figures: how fast Slack gets its ack, and how long an agent event
 * takes to become a Slack post. Runs the real bot against the loopback fakes.
 *   npm run bench
 */
import { startHarness } from '../test/support/harness.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 40);
const MESSAGES_PER_TURN = 3;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function row(name: string, values: number[]): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  return `${name.padEnd(34)}${String(values.length).padStart(6)}${f(percentile(values, 50))}${f(percentile(values, 95))}${f(Math.max(...values))}`;
}

const h = await startHarness({ LOG_LEVEL: 'silent', ...(process.env.BENCH_STORE_URL ? { STORE_URL: process.env.BENCH_STORE_URL } : {}) }, { storeNamespace: `bench-${Date.now()}` });
const emittedAt = new Map<string, number>();
h.agents.onTurn = async (turn) => {
  for (let i = 0; i < MESSAGES_PER_TURN; i++) {
    const text = `${turn.text} / message ${i}`;
    emittedAt.set(text, Date.now());
    await turn.message(text);
  }
};

const ackMs: number[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const res = await h.sender.command({ text: `task ${i}`, user: 'U1', channel: `C${i % 10}` });
  if (res.status !== 200) throw new Error(`ack failed: ${res.status}`);
  ackMs.push(res.ms);
}
await h.slack.waitFor(
  () => h.slack.callsTo('chat.postMessage').filter((c) => typeof c.args.markdown_text === 'string').length >= SESSIONS * MESSAGES_PER_TURN,
  60_000,
);
await h.bot.settled();

const postLag: number[] = [];
for (const call of h.slack.callsTo('chat.postMessage')) {
  const text = call.args.markdown_text;
  const t0 = typeof text === 'string' ? emittedAt.get(text) : undefined;
  if (t0 !== undefined) postLag.push(call.at - t0);
}
await h.close();

console.log(`\nSpine latency (${SESSIONS} sessions started one after another, ${MESSAGES_PER_TURN} agent messages each; ms)\n`);
console.log(`${'measure'.padEnd(34)}${'n'.padStart(6)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'max'.padStart(8)}`);
console.log(row('/agent ack (signed request → 200)', ackMs));
console.log(row('agent.message → chat.postMessage', postLag));
