import type { SlotSource, SlotToken } from './stream-slots.js';
import type { Segment } from './text-plan.js';

/**
 * The stream slots one thread holds, each by the message (ts) of its open stream. A
 * slot is given back in one place: when the block's segments, as recorded after a
 * write or a settle, no longer show that stream open (stopped, recovered, rewritten,
 * settled after an unknown outcome). Closing gives back every slot still held.
 */
export class OpenStreams {
  private readonly held = new Map<string, { key: string; token: SlotToken }>();
  private closed = false;

  constructor(private readonly slots: SlotSource) {}

  get free(): number {
    return this.slots.free;
  }

  async take(): Promise<SlotToken | undefined> {
    if (this.closed) return undefined;
    const taken = await this.slots.take();
    if (!taken || !this.closed) return taken;
    // Closed while the source (Redis) was answering: the slot goes straight back.
    const token: SlotToken = taken;
    token.release();
    return undefined;
  }

  /** The stream of block `key` at message `ts` now owns `token`. */
  hold(key: string, ts: string, token: SlotToken): void {
    // A released token holds no slot: a stream given one would stream past the limit.
    if (!token.held) throw new Error(`stream ${ts} was handed a released slot`);
    if (this.closed) token.release();
    else this.held.set(ts, { key, token });
  }

  /** Gives back the slot of every stream of block `key` that `segments` no longer show open. */
  reconcile(key: string, segments: readonly Segment[]): void {
    const open = new Set(segments.filter((s) => s.mode === 'stream' && !s.closed).map((s) => s.ts));
    for (const [ts, held] of this.held) {
      if (held.key !== key || open.has(ts)) continue;
      this.giveBack(ts, held.token);
    }
  }

  close(): void {
    this.closed = true;
    for (const [ts, { token }] of this.held) this.giveBack(ts, token);
  }

  private giveBack(ts: string, token: SlotToken): void {
    this.held.delete(ts);
    token.release();
  }
}
