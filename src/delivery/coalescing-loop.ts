import type { Logger } from '../ops/logger.js';

/**
 * Runs `pass` whenever requested, one pass at a time; requests during a pass fold into
 * one more pass. `wake(ms)` schedules a pass later (one timer, owned and cleared here).
 */
export class CoalescingLoop {
  private dirty = false;
  private current: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly log: Logger,
    private readonly onIdle: () => void,
  ) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  get idle(): boolean {
    return !this.current && !this.dirty && this.timer === undefined;
  }

  request(): void {
    if (this.closed) return;
    this.dirty = true;
    this.current ??= this.loop().finally(() => {
      this.current = undefined;
      if (this.dirty && !this.closed) this.request();
      else this.onIdle();
    });
  }

  wake(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.request();
      },
      Math.max(0, ms),
    );
  }

  async settled(): Promise<void> {
    while (this.current) await this.current;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await this.pass();
      } catch (error) {
        // At shutdown the writer aborts what waits for budget: the next start finishes it.
        if (this.closed) this.log.debug({ err: error }, 'thread delivery stopped by shutdown');
        else this.log.error({ err: error }, 'thread delivery failed');
      }
    }
  }
}
