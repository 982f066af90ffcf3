/**
 * Spine latency figures: how fast Slack gets its ack, and how long an agent message
 * takes to become visible in Slack. Runs the real bot against the loopback fakes.
 *   npm run bench   (this table first, then bench/run.ts)
 */
import { startHarness } from '../test/support/harness.js';
import { percentile, VisibilityTracker } from './visibility.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 40);
const MESSAGES_PER_TURN = 3;

function row(name: string, values: number[]): string {
  const f = (n: number) => n.toFixed(1).padStart(8);
  return `${name.padEnd(36)}${String(values.length).padStart(6)}${f(percentile(values, 50))}${f(percentile(values, 95))}${f(Math.max(...values))}`;
}

const h = await startHarness(
  // Each session is started by a person of its own (one may run MAX_RUNNING_PER_USER at once);
  // ALLOW_GUESTS spares a users.info look-up per person.
  { LOG_LEVEL: 'silent', ALLOW_GUESTS: 'true', ...(process.env.BENCH_STORE_URL ? { STORE_URL: process.env.BENCH_STORE_URL } : {}) },
  { storeNamespace: `bench-${Date.now()}`, statusIntervalMs: 8_000 },
);
const tracker = new VisibilityTracker(h.slack);
h.agents.onTurn = async (turn) => {
  const session = h.agents.sessions.get(turn.sessionId)!;
  for (let i = 0; i < MESSAGES_PER_TURN; i++) {
    const text = `${turn.text} / message ${i}`;
    tracker.emit(session.metadata.slack_channel!, session.metadata.slack_thread!, text);
    await turn.message(text);
  }
};

const ackMs: number[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const res = await h.sender.command({ text: `task ${i}`, user: `UBENCH${i}`, channel: `C${i % 10}` });
  if (res.status !== 200) throw new Error(`ack failed: ${res.status}`);
  ackMs.push(res.ms);
}
await tracker.untilAllVisible(SESSIONS * MESSAGES_PER_TURN, 60_000);
await h.bot.settled();
await h.close();

console.log(`\nSpine latency (${SESSIONS} sessions started one after another over 10 channels, ${MESSAGES_PER_TURN} agent messages each; ms)\n`);
console.log(`${'measure'.padEnd(36)}${'n'.padStart(6)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'max'.padStart(8)}`);
console.log(row('/agent ack (signed request → 200)', ackMs));
console.log(row('agent.message → visible in Slack', tracker.lags));
