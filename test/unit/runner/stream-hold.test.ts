import { describe, expect, it } from 'vitest';
import { StreamHold } from '../../../src/bridge/runner/stream-hold.js';
import { initialState, type ThreadState } from '../../../src/bridge/thread-state.js';

function setup(o: { openFails?: boolean } = {}) {
  const calls: string[] = [];
  const hold = new StreamHold({
    open: async () => {
      calls.push('open');
      if (o.openFails) throw new Error('stream closed before it was ready');
    },
    stopIfUnwanted: () => void calls.push('stopIfUnwanted'),
    released: () => void calls.push('released'),
  });
  const idle: ThreadState = { ...initialState(), phase: 'idle' };
  return { hold, calls, idle };
}

describe('stream hold', () => {
  it('an idle session wants no stream unless an intent holds it, and only while it runs', async () => {
    const s = setup();
    expect(s.hold.wants(s.idle)).toBe(false);
    let finish!: () => void;
    const running = s.hold.busy(() => new Promise<string>((resolve) => (finish = () => resolve('sent'))));
    expect(s.hold.held).toBe(true);
    expect(s.hold.wants(s.idle)).toBe(true);
    expect(s.calls).toEqual([]);
    finish();
    expect(await running).toBe('sent');
    expect(s.hold.held).toBe(false);
    expect(s.hold.wants(s.idle)).toBe(false);
    // Let go: the stream closes if nothing else wants it, then the owner looks whether it is quiet.
    expect(s.calls).toEqual(['stopIfUnwanted', 'released']);
  });

  it('an intent that throws lets go all the same', async () => {
    const s = setup();
    await expect(s.hold.busy(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(s.hold.held).toBe(false);
    expect(s.calls).toEqual(['stopIfUnwanted', 'released']);
  });

  it('following until a phase opens the stream and keeps it wanted until the fold reaches that phase', () => {
    const s = setup();
    s.hold.follow(['running', 'terminated']);
    expect(s.calls).toEqual(['open']);
    expect(s.hold.wants(s.idle)).toBe(true);
    s.hold.reached('idle');
    expect(s.hold.wants(s.idle)).toBe(true);
    s.hold.reached('terminated');
    expect(s.hold.wants(s.idle)).toBe(false);
  });

  it('a follow called off closes the stream unless wanted; a stream that cannot open is not a rejection', async () => {
    const s = setup({ openFails: true });
    s.hold.follow(['running']);
    await Promise.resolve();
    s.hold.follow(undefined);
    expect(s.hold.wants(s.idle)).toBe(false);
    expect(s.calls).toEqual(['open', 'stopIfUnwanted']);
  });

  it('a running session wants the stream with nothing held', () => {
    const s = setup();
    expect(s.hold.wants({ ...initialState(), phase: 'running' })).toBe(true);
    expect(s.hold.wants({ ...s.idle, pendingCustomTools: [{ eventId: 'sevt_t', name: 'read_thread', input: {} }] })).toBe(true);
  });
});
