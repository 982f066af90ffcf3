import { describe, expect, it } from 'vitest';
import { LISTENED } from '../../src/slack/handlers.js';
import { readInbound, WORDS } from '../../src/slack/inbound.js';
import { appMention, blockAction, reactionAdded } from '../fakes/slack/index.js';

const envelope = (event: unknown) => ({ type: 'event_callback', team_id: 'T1', event_id: 'Ev1', event });
const read = (body: unknown) => readInbound(body, LISTENED);
const click = (o: Record<string, unknown> = {}) => ({
  ...blockAction({ user: 'U1', channel: 'C1', messageTs: '1.1', actionId: 'stop_session', value: 'x' }),
  response_url: 'https://hooks.slack.com/actions/1',
  ...o,
});

describe('readInbound', () => {
  it('passes on what a listener reads: messages, mentions, reactions, /agent, our buttons, the deny dialog', () => {
    expect(read(envelope(appMention({ channel: 'C1', user: 'U1', text: 'hi' })))).toEqual({ kind: 'dispatch', what: 'event:app_mention' });
    expect(read(envelope(reactionAdded({ user: 'U1', reaction: 'octagonal_sign', channel: 'C1', ts: '1.1' })))).toMatchObject({ kind: 'dispatch' });
    expect(read({ command: '/agent', text: 'x', team_id: 'T1', channel_id: 'C1', user_id: 'U1' })).toMatchObject({
      kind: 'dispatch',
      what: 'command:/agent',
    });
    for (const actionId of ['stop_session', 'approve_tool', 'deny_tool', 'answer_question:1']) {
      expect(read(click({ actions: [{ action_id: actionId, value: 'v' }] }))).toMatchObject({ kind: 'dispatch' });
    }
    expect(read({ type: 'view_submission', user: { id: 'U1' }, view: { callback_id: 'deny_reason' } })).toMatchObject({ kind: 'dispatch' });
  });

  it('answers what Bolt would throw on, whatever the field', () => {
    for (const event of [
      null,
      'message',
      42,
      [],
      { type: null },
      { type: 'message', channel: 'C1', ts: '1', item: 'x' },
      { type: 'reaction_added', user: null },
    ]) {
      expect(read(envelope(event))).toMatchObject({ kind: 'acknowledge' });
    }
    expect(read({ ...envelope({ type: 'message', channel: 'C1', ts: '1' }), authorizations: [null] })).toMatchObject({ kind: 'acknowledge' });
    expect(read({ ...envelope({ type: 'message', channel: 'C1', ts: '1' }), authorizations: 'x' })).toMatchObject({ kind: 'acknowledge' });
  });

  it('tells the person behind a click it cannot read or does not know, by response_url, else ephemeral, else a modal', () => {
    expect(read(click({ user: null }))).toMatchObject({
      kind: 'acknowledge',
      tell: { via: 'response_url', url: 'https://hooks.slack.com/actions/1', text: WORDS.unreadableClick },
    });
    expect(read(click({ actions: [{ action_id: 'other' }], response_url: undefined }))).toMatchObject({
      tell: { via: 'ephemeral', channel: 'C1', user: 'U1', text: WORDS.unknownButton },
    });
    expect(read({ type: 'shortcut', user: { id: 'U1' }, callback_id: 'x', trigger_id: '1.2' })).toMatchObject({
      tell: { via: 'modal', triggerId: '1.2', text: WORDS.noShortcuts },
    });
    expect(read(click({ actions: null, response_url: undefined, user: null, channel: null, trigger_id: undefined }))).not.toHaveProperty('tell');
  });

  it('answers commands in the ack itself', () => {
    expect(read({ command: '/other', text: '', team_id: 'T1', channel_id: 'C1', user_id: 'U1' })).toMatchObject({
      ack: { response_type: 'ephemeral', text: WORDS.unknownCommand },
    });
    expect(read({ command: ['/agent', '/agent'], team_id: 'T1', channel_id: 'C1', user_id: 'U1' })).toMatchObject({
      ack: { response_type: 'ephemeral', text: WORDS.unreadableCommand },
    });
  });

  it('routes in Bolt’s order: a block action that also has `name` is an options request to Bolt, so it is answered as one', () => {
    expect(read(click({ name: 'x' }))).toMatchObject({ kind: 'acknowledge', ack: { options: [] } });
    expect(read({ ...envelope({ type: 'message', channel: 'C1', ts: '1' }), command: '/agent' })).toMatchObject({
      kind: 'dispatch',
      what: 'event:message',
    });
  });

  it('keeps names from the payload short in the log kind', () => {
    const verdict = read(envelope({ type: 'x'.repeat(10_000) }));
    expect(verdict.what.length).toBeLessThan(80);
  });
});
