import { describe, expect, it } from 'vitest';
import { statusOf, wantsStream } from '../../../src/bridge/runner/thread-view.js';
import { initialState } from '../../../src/bridge/thread-state.js';

describe('runner view helpers', () => {
  it('a session phase maps to the record status the store files it under', () => {
    expect(statusOf('terminated')).toBe('ended');
    expect(statusOf('idle')).toBe('idle');
    expect(statusOf('running')).toBe('active');
    expect(statusOf('waiting')).toBe('active');
  });

  it('an idle session lets its stream go unless someone holds it, follows it on, or it has work queued', () => {
    const idle = { ...initialState(), phase: 'idle' as const };
    expect(wantsStream(idle, { holds: 0, followUntil: undefined })).toBe(false);
    expect(wantsStream(idle, { holds: 1, followUntil: undefined })).toBe(true);
    expect(wantsStream(idle, { holds: 0, followUntil: ['running'] })).toBe(true);
    expect(wantsStream({ ...idle, queuedUserMessages: ['sevt_1'] }, { holds: 0, followUntil: undefined })).toBe(true);
    expect(wantsStream({ ...idle, pendingCustomTools: [{ eventId: 'e', name: 'ask_user', input: {} }] }, { holds: 0, followUntil: undefined })).toBe(
      true,
    );
    expect(wantsStream({ ...idle, phase: 'running' }, { holds: 0, followUntil: undefined })).toBe(true);
  });
});
