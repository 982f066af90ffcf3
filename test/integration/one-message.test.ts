import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/delivery/text-plan.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);

describe('a finished answer that fits in one Slack message', () => {
  it('goes out as one message, past the size streams and long answers are split at', async () => {
    h = await startHarness({}, { slack: { enforceRateLimits: true } });
    const paragraph = (i: number) => `${String(i).padStart(3, '0')} ${'x'.repeat(94)}`;
    const paragraphs = Array.from({ length: Math.ceil((DEFAULT_LIMITS.maxSegment + 1000) / 100) }, (_, i) => paragraph(i));
    const text = paragraphs.join('\n\n');
    expect(text.length).toBeGreaterThan(DEFAULT_LIMITS.maxSegment);
    expect(text.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxMessage);
    h.agents.onTurn = async (turn) => {
      await turn.message(text, { deltas: [text] });
    };
    await h.sender.command({ text: 'go', user: 'U1', channel: 'C1' });
    const rootTs = (await h.slack.waitFor(() => rootOf())).ts;
    await h.slack.waitFor(() => JSON.stringify(rootOf()?.blocks ?? '').includes('Done'));
    await h.bot.settled();
    const carrying = botReplies(h.slack, 'C1', rootTs).filter((m) => m.markdown_text?.includes('xxxx'));
    expect(carrying.map((m) => m.markdown_text)).toEqual([text]);
    expect(agentText(h.slack, 'C1', rootTs)).toBe(text);
    expect(h.slack.rateLimited).toHaveLength(0);
  });
});
