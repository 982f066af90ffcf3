import type { App } from '@slack/bolt';
import type { Logger } from '../ops/logger.js';
import { BEFORE_ACK_MS } from './before-ack.js';

/**
 * Bolt acks an Events API delivery before any listener runs, and Slack never sends an
 * acked event again: a kill between that ack and the listener's first durable write lost
 * the message (a mention or DM asking for a session). Here Bolt's ack of an event does
 * nothing; the real ack goes once every listener has returned (each writes what must
 * survive a kill, such as a stored start, before it returns and hands the rest to `track`),
 * or after BEFORE_ACK_MS, whichever comes first, so Slack still has it well within its 3 s.
 * A listener that throws is answered by the receiver's error handler, as before.
 */
export function ackEventsAfterListeners(app: App, log: Logger, ms = BEFORE_ACK_MS): void {
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event) => {
    const type = (event.body.event as { type?: unknown } | undefined)?.type;
    // function_executed is acked by its listener (Bolt hands it the ack); other bodies are not events.
    if (event.body.type !== 'event_callback' || type === 'function_executed') return processEvent(event);
    let acked: Promise<void> | undefined;
    const ack = () => {
      acked ??= Promise.resolve(event.ack()).catch((error: unknown) => log.warn({ err: error }, 'could not ack an event'));
      return acked;
    };
    const timer = setTimeout(() => void ack(), ms);
    try {
      await processEvent({ ...event, ack: async () => undefined });
    } finally {
      clearTimeout(timer);
    }
    await ack();
  };
}
