/**
 * How many Slack streams may be open at once in the workspace. appendStream shares
 * one budget (~100/min) across every stream, so only a few can flush every second or
 * so; the rest of the threads post finished messages instead.
 */
export class StreamSlots {
  private used = 0;

  constructor(readonly limit = 2) {}

  get free(): number {
    return this.limit - this.used;
  }

  take(): boolean {
    if (this.used >= this.limit) return false;
    this.used += 1;
    return true;
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
  }
}
