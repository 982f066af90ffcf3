import { BadRequestError, InternalServerError } from '@anthropic-ai/sdk';
import type { SessionWire, UserEvent, WireEvent } from '../../../src/bridge/runner/session-wire.js';

/** An API answer that leaves the outcome unknown (the write may have landed). */
export const serverError = () => new InternalServerError(500, undefined, 'internal server error', new Headers());
export const badRequest = () => new BadRequestError(400, undefined, 'already answered', new Headers());

/**
 * A session's events in memory. `failNext` makes the next sends throw, after landing
 * when `landed` is set (the answer lost on the way back).
 */
export function memoryWire() {
  const history: WireEvent[] = [];
  const sends: UserEvent[][] = [];
  const failures: Array<{ error: Error; landed: boolean }> = [];
  let next = 1;
  const wire: SessionWire = {
    async send(events) {
      sends.push(events);
      const failure = failures.shift();
      if (failure && !failure.landed) throw failure.error;
      const ids = events.map((e) => {
        const id = `sevt_${next++}`;
        history.push({ id, ...(e as object) } as WireEvent);
        return id;
      });
      if (failure) throw failure.error;
      return ids;
    },
    async recent(type) {
      return history.filter((e) => e.type === type).reverse();
    },
    async *all(type) {
      for (const e of history) if (e.type === type) yield e;
    },
  };
  return {
    wire,
    history,
    sends,
    failNext: (error: Error, o: { landed: boolean }) => void failures.push({ error, landed: o.landed }),
  };
}
