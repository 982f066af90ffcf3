import { afterEach, describe, expect, it } from 'vitest';
import type { Failure } from '../fakes/slack/index.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const roots = () => h.slack.messages('C1').filter((m) => !m.thread_ts && m.bot_id && !m.deleted);
const rootText = () => JSON.stringify(roots()[0]?.blocks ?? '');

describe('the /agent root card survives Slack faults', () => {
  const cases: Array<[string, Failure]> = [
    ['a 500 after the post landed', { status: 500, afterApply: true }],
    ['a 500 before it landed', { status: 500 }],
    ['a 429', { retryAfter: 1 }],
    ['a connection dropped after the post landed', { drop: true, afterApply: true }],
    ['a connection dropped before it landed', { drop: true }],
  ];
  for (const [what, failure] of cases) {
    it(`${what}: one root card, and the session starts`, async () => {
      h = await startHarness();
      h.slack.failNext('chat.postMessage', failure);
      await h.sender.command({ text: 'hello', user: 'U1', channel: 'C1' });
      await h.slack.waitFor(() => rootText().includes('Done'));
      await h.bot.settled();
      expect(roots()).toHaveLength(1);
      expect(h.agents.sessions.size).toBe(1);
      expect(agentText(h.slack, 'C1', roots()[0]!.ts)).toBe('You said: hello');
      expect(h.slack.responseUrlPosts).toHaveLength(0);
      // A landed post is found in the channel history instead of posted again.
      if (failure.afterApply) expect(h.slack.callsTo('conversations.history').length).toBeGreaterThan(0);
    });
  }

  it('Slack down for every attempt: the person is told why and what to do; nothing starts, and a restart starts nothing', async () => {
    h = await startHarness();
    h.slack.failNext('chat.postMessage', { status: 503, times: 10 });
    await h.sender.command({ text: 'hello', user: 'U1', channel: 'C1' });
    const answer = await h.slack.waitFor(() => h.slack.responseUrlPosts[0]);
    expect(answer.body.text).toMatch(/Slack did not accept my message \(http_503\), so no session was started\. Please try again\./);
    await h.bot.settled();
    await h.restart();
    await h.bot.settled();
    expect(roots()).toHaveLength(0);
    expect(h.agents.sessions.size).toBe(0);
  });
});

describe('writes Slack gives no key for, with an unknown outcome', () => {
  /** Paced pieces of one answer, so the bot streams and appends. */
  const pacedAnswer = async () => {
    h.agents.onTurn = async (turn) => {
      for (const piece of ['One two three.', 'Four five six.', 'Seven eight nine.']) {
        await turn.message(piece);
        await turn.wait(300);
      }
    };
    await h.sender.command({ text: 'stream it', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    return agentText(h.slack, 'C1', roots()[0]!.ts);
  };
  const limits = { textLimits: { flushMs: 50, streamLingerMs: 20 } };

  it('an appendStream that landed and answered 500 is not appended again (its message is rewritten)', async () => {
    h = await startHarness({}, limits);
    h.slack.failNext('chat.appendStream', { status: 500, afterApply: true });
    const said = await pacedAnswer();
    expect(h.slack.callsTo('chat.appendStream').some((c) => c.status === 500)).toBe(true);
    expect(said.replace(/\s+/g, ' ')).toBe('One two three. Four five six. Seven eight nine.');
  });

  it('a startStream that landed behind a dropped connection is adopted, not left beside a second stream', async () => {
    h = await startHarness({}, limits);
    h.slack.failNext('chat.startStream', { drop: true, afterApply: true });
    const said = await pacedAnswer();
    expect(h.slack.callsTo('chat.startStream')[0]!.status).toBe(0);
    expect(said.replace(/\s+/g, ' ')).toBe('One two three. Four five six. Seven eight nine.');
    expect(h.logs.lines().some((l) => l.msg === 'settled a stream start with an unknown outcome' && typeof l.adopted === 'string')).toBe(true);
  });

  it('a startStream that did not land is started again, once', async () => {
    h = await startHarness({}, limits);
    h.slack.failNext('chat.startStream', { status: 502 });
    const said = await pacedAnswer();
    expect(said.replace(/\s+/g, ' ')).toBe('One two three. Four five six. Seven eight nine.');
    expect(h.logs.lines().some((l) => l.msg === 'settled a stream start with an unknown outcome' && l.adopted === undefined)).toBe(true);
  });

  it('the long-answer upload: a share that landed and answered 500 is found by its reserved file id, not shared twice', async () => {
    h = await startHarness({}, { textLimits: { maxSegment: 400, maxMessage: 400, overflowAt: 900 } });
    const long = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} of the long answer.`).join('\n\n');
    h.agents.onTurn = async (turn) => {
      await turn.message(long);
    };
    h.slack.failNext('files.completeUploadExternal', { status: 500, afterApply: true });
    await h.sender.command({ text: 'write a lot', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done') && h.slack.uploads.size > 0);
    // What follows the failed share: a look in the thread (or, without the guarantee, a second share).
    await h.slack.waitFor(() => {
      const failed = h.slack.calls.findIndex((c) => c.method === 'files.completeUploadExternal' && c.status === 500);
      return (
        failed >= 0 &&
        h.slack.calls.slice(failed + 1).some((c) => c.method === 'conversations.replies' || c.method === 'files.completeUploadExternal')
      );
    });
    await h.bot.settled();
    const shares = botReplies(h.slack, 'C1', roots()[0]!.ts).filter((m) => m.files?.length);
    expect(shares).toHaveLength(1);
    expect(h.slack.callsTo('files.completeUploadExternal')).toHaveLength(1);
    const file = [...h.slack.uploads.values()].find((u) => u.channel)!;
    expect(file.content?.toString('utf8')).toBe(long);
  });
});
