import { describe, expect, it } from 'vitest';
import { MessageEventSchema } from '../../src/slack/inbound.js';
import { isStopReaction, routeMessage } from '../../src/slack/route-message.js';

const msg = (m: Record<string, unknown>) => MessageEventSchema.parse({ type: 'message', channel: 'C1', ts: '2.0', user: 'U1', text: '', ...m });

describe('routeMessage', () => {
  it('steers with a reply in a session thread', () => {
    expect(routeMessage(msg({ thread_ts: '1.0', text: 'go left' }), 'U_BOT', true)).toEqual({ kind: 'steer', threadTs: '1.0', text: 'go left' });
  });
  it('counts file shares and thread broadcasts as human replies', () => {
    expect(routeMessage(msg({ thread_ts: '1.0', text: 'see file', subtype: 'file_share' }), 'U_BOT', true).kind).toBe('steer');
    expect(routeMessage(msg({ thread_ts: '1.0', text: 'all', subtype: 'thread_broadcast' }), 'U_BOT', true).kind).toBe('steer');
  });
  it('ignores bots, itself, edits and deletions', () => {
    expect(routeMessage(msg({ thread_ts: '1.0', text: 'x', bot_id: 'B2' }), 'U_BOT', true).kind).toBe('ignore');
    expect(routeMessage(msg({ thread_ts: '1.0', text: 'x', user: 'U_BOT' }), 'U_BOT', true).kind).toBe('ignore');
    expect(routeMessage(msg({ subtype: 'message_changed', user: undefined }), 'U_BOT', true).kind).toBe('ignore');
    expect(routeMessage(msg({ subtype: 'message_deleted', thread_ts: '1.0' }), 'U_BOT', true).kind).toBe('ignore');
  });
  it('starts a session on a mention, top level or in a thread, stripping the mention', () => {
    expect(routeMessage(msg({ text: '<@U_BOT> fix the build' }), 'U_BOT', false)).toEqual({ kind: 'start', threadTs: '2.0', text: 'fix the build' });
    expect(routeMessage(msg({ type: 'app_mention', thread_ts: '1.0', text: '<@U_BOT>, look' }), 'U_BOT', false)).toEqual({
      kind: 'start',
      threadTs: '1.0',
      text: 'look',
    });
  });
  it('starts a session on a DM and ignores channel chatter', () => {
    expect(routeMessage(msg({ channel: 'D1', channel_type: 'im', text: 'hello' }), 'U_BOT', false).kind).toBe('start');
    expect(routeMessage(msg({ text: 'lunch?' }), 'U_BOT', false).kind).toBe('ignore');
  });
  it('answers an empty mention with usage', () => {
    expect(routeMessage(msg({ text: '<@U_BOT>' }), 'U_BOT', false).kind).toBe('usage');
  });
  it('recognises the stop reaction', () => {
    expect(isStopReaction('octagonal_sign')).toBe(true);
    expect(isStopReaction('stop_sign')).toBe(false);
  });
});
