import { afterEach, describe, expect, it } from 'vitest';
import { appMention } from '../fakes/slack/index.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');

async function startTurn(text = 'go'): Promise<string> {
  await h.sender.command({ text, user: 'U1', channel: 'C1' });
  return (await h.slack.waitFor(() => rootOf())).ts;
}

describe('the agent’s words, live', () => {
  it('stream as they are written (startStream, appendStream, stopStream) and end exactly as the agent wrote them', async () => {
    h = await startHarness({}, { slack: { enforceRateLimits: true } });
    h.agents.onTurn = async (turn) => {
      await turn.message('First thought, written live.', { deltas: ['First ', 'thought, ', 'written live.'] });
      await turn.gate('more');
      await turn.message('Second thought.');
    };
    const rootTs = await startTurn();
    await h.slack.waitFor(() => h.slack.callsTo('chat.startStream').length === 1);
    const stream = await h.slack.waitFor(() =>
      botReplies(h.slack, 'C1', rootTs).find((m) => m.stream?.state === 'streaming' && m.markdown_text === 'First thought, written live.'),
    );
    h.agents.release('more');
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    const final = h.slack.messages('C1').find((m) => m.ts === stream.ts)!;
    expect(final.stream?.state).toBe('stopped');
    expect(final.markdown_text).toBe('First thought, written live.\n\nSecond thought.');
    expect(agentText(h.slack, 'C1', rootTs)).toBe('First thought, written live.\n\nSecond thought.');
    expect(h.slack.rateLimited).toHaveLength(0);
  });

  it('a 500-delta burst reaches Slack complete, in order, with no 429', async () => {
    h = await startHarness({}, { slack: { enforceRateLimits: true } });
    const words = Array.from({ length: 500 }, (_, i) => `w${i} `);
    h.agents.onTurn = async (turn) => {
      await turn.message(words.join(''), { deltas: words });
    };
    const rootTs = await startTurn();
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(agentText(h.slack, 'C1', rootTs)).toBe(words.join(''));
    expect(h.slack.rateLimited).toHaveLength(0);
  });

  it('a preview that is withdrawn (request cut short) is taken back out of the message', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message('Kept.');
      h.agents.emit(turn.sessionId, { type: 'event_start', event: { type: 'agent.message', id: 'sevt_withdrawn' } });
      h.agents.emit(turn.sessionId, {
        type: 'event_delta',
        event_id: 'sevt_withdrawn',
        delta: { type: 'content_delta', content: { type: 'text', text: 'I will delete everyth' } },
      });
      await turn.gate('cut');
      h.agents.emit(turn.sessionId, { type: 'span.model_request_end', model_request_start_id: 'x', is_error: true, model_usage: null });
    };
    const rootTs = await startTurn();
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('I will delete everyth'));
    h.agents.release('cut');
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(agentText(h.slack, 'C1', rootTs)).toBe('Kept.');
  });

  it('when a stream expires under it, the message still ends with the exact text', async () => {
    let clock = Date.now();
    h = await startHarness({}, { slack: { now: () => clock, streamLifetimeMs: 60_000 } });
    h.agents.onTurn = async (turn) => {
      await turn.message('Before expiry.');
      await turn.gate('expire');
      await turn.message('After expiry.');
    };
    const rootTs = await startTurn();
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', rootTs).some((m) => m.stream?.state === 'streaming'));
    clock += 120_000;
    h.agents.release('expire');
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(agentText(h.slack, 'C1', rootTs)).toBe('Before expiry.\n\nAfter expiry.');
    expect(h.logs.lines().some((l) => l.msg === 'stream no longer writable; replacing its text')).toBe(true);
  });

  it('an answer too long for a few messages shows its start and attaches the whole as a file', async () => {
    h = await startHarness();
    const paragraphs = Array.from({ length: 80 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum '.repeat(40).trim()}`);
    const long = paragraphs.join('\n\n');
    h.agents.onTurn = async (turn) => {
      await turn.message(long);
    };
    const rootTs = await startTurn();
    await h.slack.waitFor(() => rootText().includes('Done') && h.slack.uploads.size > 0);
    await h.bot.settled();
    const texts = botReplies(h.slack, 'C1', rootTs).filter((m) => m.markdown_text);
    expect(texts.length).toBeLessThanOrEqual(3);
    for (const m of texts) expect(m.markdown_text!.length).toBeLessThanOrEqual(12_000);
    expect(long.startsWith(texts.map((m) => m.markdown_text).join(''))).toBe(true);
    const file = [...h.slack.uploads.values()][0]!;
    expect(file.thread_ts).toBe(rootTs);
    expect(file.content?.toString('utf8')).toBe(long);
  });

  it('a 429 on status edits does not hold up the agent’s words', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.gate('speak');
      await turn.message('Words get through.');
      await turn.gate('finish');
    };
    const rootTs = await startTurn();
    await h.agents.waitFor(() => h.agents.sessions.size === 1);
    await h.bot.settled();
    h.slack.failNext('chat.update', { retryAfter: 30 });
    h.agents.emit([...h.agents.sessions.keys()][0]!, { type: 'agent.tool_use', name: 'bash', input: { command: 'ls' } });
    await h.slack.waitFor(() => h.slack.rateLimited.length === 1);
    h.agents.release('speak');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Words get through.'));
    // chat.update is still paused for its Retry-After: only the rejected call was made.
    expect(h.slack.callsTo('chat.update').filter((c) => c.at > h.slack.rateLimited[0]!.at)).toHaveLength(0);
    h.agents.release('finish');
  });

  it('ends a turn with a ✅ on the message that started it and one short usage line', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.usage({ input_tokens: 1200, output_tokens: 300 });
      await turn.message(`Answer to ${turn.text}`);
    };
    const mention = appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> hi' });
    await h.sender.event(mention);
    await h.slack.waitFor(() =>
      h.slack
        .messages('C1')
        .find((m) => m.ts === String(mention.ts))
        ?.reactions.some((r) => r.name === 'white_check_mark'),
    );
    const usageLines = () => botReplies(h.slack, 'C1', String(mention.ts)).filter((m) => String(m.text).startsWith('Turn '));
    await h.slack.waitFor(() => usageLines().length === 1);
    expect(usageLines()[0]!.text).toMatch(/^Turn 1 · 1\.2k tokens in · 300 out · \d+s · session so far \$0\.01$/);
    // The line comes after the agent's words.
    const replies = botReplies(h.slack, 'C1', String(mention.ts));
    expect(replies.findIndex((m) => m.markdown_text?.includes('Answer to'))).toBeLessThan(replies.indexOf(usageLines()[0]!));
    await h.bot.settled();
    expect(usageLines()).toHaveLength(1);
  });
});
