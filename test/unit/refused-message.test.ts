import { describe, expect, it } from 'vitest';
import { isContentRefusal, writeFallback } from '../../src/delivery/refused-message.js';
import { SlackCallError } from '../../src/delivery/slack-writer.js';
import type { SlackBody } from '../../src/render/slack-message.js';

const card: SlackBody = {
  text: 'The agent wants to use bash and needs approval',
  blocks: [
    { type: 'section', text: { type: 'mrkdwn', text: 'too much' } },
    {
      type: 'actions',
      block_id: 'approval:e1',
      elements: [{ type: 'button', action_id: 'approve_tool', text: { type: 'plain_text', text: 'Approve' }, value: 'e1' }],
    },
  ],
};

/** A write that answers each attempt in turn: a ts, or a Slack error. */
function writes(...answers: Array<string | SlackCallError>) {
  const sent: SlackBody[] = [];
  const write = async (body: SlackBody) => {
    sent.push(body);
    const answer = answers.shift();
    if (answer instanceof SlackCallError) throw answer;
    return answer ?? 'ts';
  };
  return { sent, write };
}

const refused = (code = 'invalid_blocks') => new SlackCallError('chat.postMessage', code);

describe('writing a plainer version of a refused message', () => {
  it('shows the plain text with the same buttons when Slack takes it', async () => {
    const { sent, write } = writes('1.000002');
    const outcome = await writeFallback(card, write);
    expect(outcome).toMatchObject({ kind: 'shown', value: '1.000002', shown: 'plain_with_buttons' });
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0])).toContain('"block_id":"approval:e1"');
  });

  it('falls back to the plain line when the buttons are refused too, and gives up after that', async () => {
    const second = writes(refused(), '1.000003');
    expect(await writeFallback(card, second.write)).toMatchObject({ kind: 'shown', value: '1.000003', shown: 'plain_line' });
    expect(second.sent[1]).toEqual({ text: expect.stringContaining('The agent wants to use bash and needs approval') });
    const none = writes(refused(), refused('msg_too_long'));
    expect(await writeFallback(card, none.write)).toEqual({ kind: 'refused', slackError: 'msg_too_long' });
  });

  it('stops at an error no plainer message can help with, and reports Slack being away as such', async () => {
    const gone = writes(refused('channel_not_found'));
    expect(await writeFallback(card, gone.write)).toEqual({ kind: 'refused', slackError: 'channel_not_found' });
    expect(gone.sent).toHaveLength(1);
    const away = writes(new SlackCallError('chat.postMessage', 'http_503', { transient: true }));
    expect(await writeFallback(card, away.write)).toMatchObject({ kind: 'unavailable' });
  });

  it('counts only content refusals as refusals', () => {
    expect(isContentRefusal(refused('invalid_blocks'))).toBe(true);
    expect(isContentRefusal(refused('msg_blocks_too_long'))).toBe(true);
    expect(isContentRefusal(refused('not_in_channel'))).toBe(false);
    expect(isContentRefusal(new SlackCallError('chat.postMessage', 'invalid_blocks', { transient: true }))).toBe(false);
    expect(isContentRefusal(new Error('invalid_blocks'))).toBe(false);
  });
});
