import { WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SLACK_BUDGETS } from '../../src/delivery/rate-budget.js';
import { SlackCallError, SlackWriter } from '../../src/delivery/slack-writer.js';
import { WriteScheduler } from '../../src/delivery/write-scheduler.js';
import { fenced, LeaseFence, LeaseLostError } from '../../src/replicas/fence.js';
import { memoryLogger } from '../support/log-sink.js';

// A write is checked against its runner's fence as it goes out, not when it was asked for:
// what waited for budget or for a 429 to pass is checked again at the moment it would be sent.
describe('SlackWriter guarded by a lease fence', () => {
  let scheduler: WriteScheduler;
  let sent: Array<{ method: string; args: Record<string, unknown> }>;
  let answers: Array<() => unknown>;
  let held: boolean;
  let fence: LeaseFence;
  let writer: SlackWriter;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    scheduler = new WriteScheduler({ now: () => Date.now() });
    sent = [];
    answers = [];
    held = true;
    fence = new LeaseFence('T:C1:1.0', () => held);
    const client = {
      apiCall: async (method: string, args: Record<string, unknown>) => {
        sent.push({ method, args });
        const answer = answers.shift();
        return answer ? answer() : { ok: true, ts: `9.${sent.length}` };
      },
    } as unknown as WebClient;
    writer = new SlackWriter(client, memoryLogger().log, { scheduler }).guarded(fence);
  });
  afterEach(() => {
    writer.close();
    vi.useRealTimers();
  });

  /** Takes the channel's whole post burst, so the next post waits for its budget. */
  async function drainPostBudget(): Promise<void> {
    const { burst } = SLACK_BUDGETS['chat.postMessage']!;
    for (let i = 0; i < burst; i++) await scheduler.acquire({ method: 'chat.postMessage', team: 'workspace', channel: 'C1', priority: 'content' });
  }

  const post = () =>
    writer.postOnce('C1', '1.0', 'tool:1', { text: 'a tool line' }).then(
      (ts) => ({ kind: 'posted' as const, ts }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    );

  it('sends a post that waited for budget while the lease holds', async () => {
    await drainPostBudget();
    const outcome = post();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await outcome).toMatchObject({ kind: 'posted' });
    expect(sent.map((s) => s.method)).toEqual(['chat.postMessage']);
  });

  it('does not send a post whose lease ran out (by the clock) while it waited for budget', async () => {
    await drainPostBudget();
    const outcome = post();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([]);
    // A paused replica: the lease deadline passed, nobody told the fence; its budget comes after.
    held = false;
    await vi.advanceTimersByTimeAsync(60_000);
    const done = await outcome;
    expect(done.kind).toBe('failed');
    const error = (done as { error: unknown }).error;
    expect(error).toBeInstanceOf(SlackCallError);
    expect(error).toMatchObject({ fenced: true, transient: true });
    expect(sent).toEqual([]);
  });

  it('gives up at once, without sending, when the fence is shut while the post waits', async () => {
    await drainPostBudget();
    const outcome = post();
    await vi.advanceTimersByTimeAsync(0);
    fence.close();
    // No time passes: the wait for budget is aborted, not served.
    expect(await outcome).toMatchObject({ kind: 'failed', error: { fenced: true } });
    expect(sent).toEqual([]);
  });

  it('does not send again after a 429 when the lease ran out during Retry-After', async () => {
    answers.push(() => {
      throw new WebAPIRateLimitedError(2);
    });
    const outcome = writer.call('chat.update', { channel: 'C1', ts: '9.1', text: 'edited' }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    held = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await outcome).toMatchObject({ fenced: true });
    expect(sent).toHaveLength(1);
  });

  it('ends a wait for budget taken before the body (acquire) the moment the fence shuts', async () => {
    await drainPostBudget();
    const waited = writer.acquire({ method: 'chat.postMessage', team: 'workspace', channel: 'C1', priority: 'content' }).then(
      () => 'granted',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(0);
    fence.close();
    expect(await waited).toMatchObject({ fenced: true });
  });

  it('gives a preacquired token back when the call is refused', async () => {
    const lane = { method: 'chat.update', team: 'workspace', channel: 'C1' };
    const refund = vi.spyOn(scheduler, 'refund');
    await scheduler.acquire({ ...lane, priority: 'status' });
    held = false;
    await expect(writer.call('chat.update', { channel: 'C1', ts: '9.1', text: 'x' }, 'preacquired')).rejects.toMatchObject({ fenced: true });
    expect(refund).toHaveBeenCalledWith(lane);
    expect(sent).toEqual([]);
  });
});

describe('fenced records', () => {
  it('checks an update again once its lock is taken, and writes nothing when the fence shut meanwhile', async () => {
    let held = true;
    const fence = new LeaseFence('T:C1:1.0', () => held);
    const written: string[] = [];
    let lockTaken: () => void = () => undefined;
    const lock = new Promise<void>((resolve) => {
      lockTaken = resolve;
    });
    const records = {
      async update(_ref: string, change: (r: { note: string }) => void): Promise<void> {
        await lock;
        const r = { note: '' };
        change(r);
        written.push(r.note);
      },
    };
    const guarded = fenced(records, fence);
    const update = guarded.update('ref', (r) => {
      r.note = 'from the old holder';
    });
    // Asked while the lease held; the lock comes after it ran out.
    held = false;
    lockTaken();
    await expect(update).rejects.toBeInstanceOf(LeaseLostError);
    expect(written).toEqual([]);
    expect(fence.signal.aborted).toBe(true);
  });
});
