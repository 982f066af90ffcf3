import { describe, expect, it } from 'vitest';
import { Receipts, turnMark, type React } from '../../../src/bridge/runner/receipts.js';
import { memoryLogger } from '../../support/log-sink.js';

function recorder(fail?: Error) {
  const calls: Array<{ channel: string; ts: string; name: string; urgency: string }> = [];
  const react: React = async (channel, ts, name, urgency) => {
    calls.push({ channel, ts, name, urgency });
    if (fail) throw fail;
  };
  return { calls, react };
}

describe('receipts', () => {
  it('marks a finished turn by how it ended, behind the thread’s words', async () => {
    const { calls, react } = recorder();
    const receipts = new Receipts(react, memoryLogger('silent').log);
    await receipts.turnDone('C1', '1.1', 'done');
    await receipts.turnDone('C1', '1.2', 'stopped');
    await receipts.turnDone('C1', '1.3', 'failed');
    expect(calls).toEqual([
      { channel: 'C1', ts: '1.1', name: 'white_check_mark', urgency: 'status' },
      { channel: 'C1', ts: '1.2', name: 'octagonal_sign', urgency: 'status' },
      { channel: 'C1', ts: '1.3', name: 'warning', urgency: 'status' },
    ]);
    expect(turnMark('budget')).toBe('warning');
  });

  it('a 👀 that cannot be added is logged, not thrown: the message itself reached the agent', async () => {
    const { calls, react } = recorder(new Error('slack is down'));
    const sink = memoryLogger();
    await new Receipts(react, sink.log).seen('C1', '2.1');
    expect(calls).toEqual([{ channel: 'C1', ts: '2.1', name: 'eyes', urgency: 'content' }]);
    expect(sink.lines().some((l) => l.msg === 'could not add the receipt reaction' && l.ts === '2.1')).toBe(true);
  });

  it('a turn mark that cannot be added fails, so its owner logs it as failed work', async () => {
    const { react } = recorder(new Error('slack is down'));
    await expect(new Receipts(react, memoryLogger('silent').log).turnDone('C1', '3.1', 'done')).rejects.toThrow('slack is down');
  });
});
