import { describe, expect, it } from 'vitest';
import { MessageSender } from '../../../src/bridge/runner/message-sender.js';
import { memoryLogger } from '../../support/log-sink.js';
import { badRequest, memoryWire, serverError } from './wire.js';

const log = memoryLogger('silent').log;
const never = new AbortController().signal;

describe('message sender', () => {
  it('sends a message once: a 500 after it landed is found in the history, not sent again', async () => {
    const w = memoryWire();
    w.failNext(serverError(), { landed: true });
    const id = await new MessageSender(w.wire, never, log).sendMessage('hello', [], new Set());
    expect(w.sends).toHaveLength(1);
    expect(w.history.map((e) => e.id)).toEqual([id]);
  });

  it('an earlier message with the same words is not mistaken for this one', async () => {
    const w = memoryWire();
    const sender = new MessageSender(w.wire, never, log);
    const first = await sender.sendMessage('again', [], new Set());
    w.failNext(serverError(), { landed: false });
    const second = await sender.sendMessage('again', [], new Set([first]));
    expect(second).not.toBe(first);
    expect(w.sends).toHaveLength(3);
    expect(w.history).toHaveLength(2);
  });

  it('a message queued mid-run is found on the stream before the history shows it', async () => {
    const recent: string[] = [];
    const sender = new MessageSender(
      {
        send: async () => {
          throw serverError();
        },
        recent: async (type) => {
          recent.push(type);
          return [];
        },
      },
      never,
      log,
    );
    sender.observe([{ type: 'user.message', id: 'sevt_q', content: [{ type: 'text', text: 'steer' }], processed_at: null } as never]);
    await expect(sender.sendMessage('steer', [], new Set())).resolves.toBe('sevt_q');
    expect(recent).toEqual([]);
  });

  it('a refused message fails without a look-up or a second try', async () => {
    const w = memoryWire();
    w.failNext(badRequest(), { landed: false });
    await expect(new MessageSender(w.wire, never, log).sendMessage('x', [], new Set())).rejects.toThrow('already answered');
    expect(w.sends).toHaveLength(1);
  });

  it('sends an interrupt once: after a 500 the new interrupt in the history is ours, older and recorded ones are not', async () => {
    const w = memoryWire();
    const sender = new MessageSender(w.wire, never, log);
    const older = await sender.sendInterrupt(() => false);
    sender.observe([{ type: 'user.interrupt', id: older } as never]);
    const recorded = await sender.sendInterrupt(() => false);
    w.failNext(serverError(), { landed: true });
    const id = await sender.sendInterrupt((i) => i === recorded);
    expect([older, recorded]).not.toContain(id);
    expect(w.history.filter((e) => e.type === 'user.interrupt')).toHaveLength(3);
    expect(w.sends).toHaveLength(3);
  });
});
