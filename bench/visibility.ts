import type { FakeSlack } from '../test/fakes/slack/index.js';

type Piece = { text: string; emittedAt: number; thread: string };

/**
 * When each piece of agent text first became visible in Slack. Checked after every
 * Web API call the fake serves, for the thread that call touched only.
 */
export class VisibilityTracker {
  private readonly pending = new Map<string, Piece[]>();
  private readonly threadOfTs = new Map<string, string>();
  private seenCalls = 0;
  readonly lags: number[] = [];
  /** The same lags per thread (`channel:threadTs`), for the slowest thread's figures. */
  readonly lagsByThread = new Map<string, number[]>();
  emitted = 0;

  constructor(private readonly slack: FakeSlack) {}

  /** Call right before the agent emits `text` in the thread rooted at `channel`/`threadTs`. */
  emit(channel: string, threadTs: string, text: string): void {
    const thread = `${channel}:${threadTs}`;
    const list = this.pending.get(thread) ?? [];
    list.push({ text, emittedAt: Date.now(), thread });
    this.pending.set(thread, list);
    this.emitted += 1;
  }

  get outstanding(): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.length;
    return n;
  }

  /** Resolves when every emitted piece is visible, or after `timeoutMs` (the rest count as not delivered). */
  async untilAllVisible(expected: number, timeoutMs: number): Promise<void> {
    await this.slack
      .waitFor(() => {
        this.scan();
        return this.emitted >= expected && this.outstanding === 0;
      }, timeoutMs)
      .catch(() => undefined);
    this.scan();
  }

  private scan(): void {
    const calls = this.slack.calls;
    for (; this.seenCalls < calls.length; this.seenCalls++) {
      const call = calls[this.seenCalls]!;
      const channel = typeof call.args.channel === 'string' ? call.args.channel : undefined;
      if (!channel) continue;
      const response = call.response as { ts?: string };
      const threadTs = typeof call.args.thread_ts === 'string' ? call.args.thread_ts : undefined;
      if (threadTs && response.ts) this.threadOfTs.set(`${channel}:${response.ts}`, threadTs);
      const ts = typeof call.args.ts === 'string' ? call.args.ts : undefined;
      const root = threadTs ?? (ts ? this.threadOfTs.get(`${channel}:${ts}`) : undefined);
      if (root) this.check(channel, root, call.at);
    }
  }

  private check(channel: string, threadTs: string, at: number): void {
    const thread = `${channel}:${threadTs}`;
    const list = this.pending.get(thread);
    if (!list || list.length === 0) return;
    const shown = this.slack
      .thread(channel, threadTs)
      .filter((m) => m.bot_id && !m.deleted)
      .map((m) => m.markdown_text ?? '')
      .join('\n');
    while (list.length > 0 && shown.includes(list[0]!.text)) {
      const lag = Math.max(0, at - list.shift()!.emittedAt);
      this.lags.push(lag);
      const own = this.lagsByThread.get(thread) ?? [];
      own.push(lag);
      this.lagsByThread.set(thread, own);
    }
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The p95 lag of the thread whose p95 is worst (NaN when nothing was shown). */
export function slowestThreadP95(byThread: ReadonlyMap<string, readonly number[]>): number {
  let worst = Number.NaN;
  for (const lags of byThread.values()) {
    const p95 = percentile(lags, 95);
    if (Number.isNaN(worst) || p95 > worst) worst = p95;
  }
  return worst;
}

export const WRITE_METHODS = new Set([
  'chat.postMessage',
  'chat.update',
  'chat.startStream',
  'chat.appendStream',
  'chat.stopStream',
  'chat.delete',
  'chat.postEphemeral',
  'reactions.add',
  'files.getUploadURLExternal',
  'files.completeUploadExternal',
]);
