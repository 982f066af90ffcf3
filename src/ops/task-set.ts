import type { Logger } from './logger.js';

/**
 * Work started in the background by something that must be able to wait for it (tests,
 * shutdown). A failure is logged, never left as an unhandled rejection.
 */
export class TaskSet {
  private readonly tasks = new Set<Promise<void>>();

  constructor(
    private readonly log: Logger,
    private readonly onDone: () => void = () => undefined,
  ) {}

  get size(): number {
    return this.tasks.size;
  }

  add(work: Promise<unknown>): void {
    const task = work.then(
      () => undefined,
      (error: unknown) => this.log.error({ err: error }, 'background work failed'),
    );
    this.tasks.add(task);
    void task.finally(() => {
      this.tasks.delete(task);
      this.onDone();
    });
  }

  /** Resolves once every task, including ones added meanwhile, has finished. */
  async settled(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** The tasks running now (for racing them against a grace period). */
  current(): Promise<void>[] {
    return [...this.tasks];
  }
}
