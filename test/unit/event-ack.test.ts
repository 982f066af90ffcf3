import type { App } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { ackEventsAfterListeners } from '../../src/slack/event-ack.js';

const silent = { warn: () => undefined } as unknown as Parameters<typeof ackEventsAfterListeners>[1];
const event = { type: 'event_callback', event: { type: 'app_mention' } };

/** Bolt's processEvent as far as acks go: it calls the ack it is given first, then runs the listeners. */
function boltLike(listener: () => Promise<void>) {
  const order: string[] = [];
  const app = {
    async processEvent(e: { ack: () => Promise<void> }) {
      await e.ack();
      await listener();
    },
  };
  ackEventsAfterListeners(app as unknown as App, silent, 60_000);
  const deliver = (body: Record<string, unknown>) => app.processEvent({ body, ack: async () => void order.push('acked') } as never);
  return { order, deliver };
}

describe('ackEventsAfterListeners: an event is acked once its listeners have stored what they must', () => {
  it('holds the ack of an event until the listener has returned', async () => {
    let app!: ReturnType<typeof boltLike>;
    app = boltLike(async () => {
      app.order.push('listener stored');
    });
    await app.deliver(event);
    expect(app.order).toEqual(['listener stored', 'acked']);
  });

  it('leaves the ack of a command or click where Bolt put it (their listeners ack themselves)', async () => {
    let app!: ReturnType<typeof boltLike>;
    app = boltLike(async () => {
      app.order.push('listener');
    });
    await app.deliver({ command: '/agent' });
    expect(app.order).toEqual(['acked', 'listener']);
  });

  it('a listener that throws is not acked here (the receiver answers it)', async () => {
    const app = boltLike(async () => {
      throw new Error('listener bug');
    });
    await expect(app.deliver(event)).rejects.toThrow('listener bug');
    expect(app.order).toEqual([]);
  });

  it('acks after the deadline when the listener is still working, once', async () => {
    const order: string[] = [];
    let finish!: () => void;
    const app = {
      async processEvent(e: { ack: () => Promise<void> }) {
        await e.ack();
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        order.push('listener done');
      },
    };
    let acked!: () => void;
    const ackedOnce = new Promise<void>((resolve) => {
      acked = resolve;
    });
    ackEventsAfterListeners(app as unknown as App, silent, 0);
    const delivered = app.processEvent({
      body: event,
      ack: async () => {
        order.push('acked');
        acked();
      },
    } as never);
    await ackedOnce;
    finish();
    await delivered;
    expect(order).toEqual(['acked', 'listener done']);
  });
});
