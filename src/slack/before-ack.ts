import { delay } from '../ops/delay.js';

/**
 * How long the writes made before an ack may take: Slack waits 3 s for it, then shows the
 * person the command failed (and they run it again). A store that does not answer in this
 * time (Redis away: its client queues commands until it is back) is said in the ack instead.
 */
export const BEFORE_ACK_MS = 2000;

export type BeforeAck<T> = { kind: 'done'; value: T } | { kind: 'late' };

/**
 * Runs `work` (the writes that must be durable before the ack) for at most `ms`. Once that
 * time has passed the caller acks as if it failed, so what `work` still makes is not used:
 * `late` is told it later (to undo it), and `work` can ask `isLate()` before each write.
 */
export async function beforeAck<T>(
  work: (isLate: () => boolean) => Promise<T>,
  late: (value: T) => Promise<void>,
  track: (work: Promise<unknown>) => void,
  ms = BEFORE_ACK_MS,
): Promise<BeforeAck<T>> {
  let isLate = false;
  const working = work(() => isLate);
  const timer = new AbortController();
  // Aborted only once the race is decided, so what it then resolves to is never read.
  const deadline = delay(ms, timer.signal).then(
    (): BeforeAck<T> => ({ kind: 'late' }),
    (): BeforeAck<T> => ({ kind: 'late' }),
  );
  try {
    const first = await Promise.race([working.then((value): BeforeAck<T> => ({ kind: 'done', value })), deadline]);
    if (first.kind === 'late') {
      isLate = true;
      // A rejection after the deadline was said in the ack already; only a value needs undoing.
      track(working.then(late, () => undefined));
    }
    return first;
  } finally {
    timer.abort();
  }
}
