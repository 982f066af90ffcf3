import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { humanReply } from '../fakes/slack/index.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);

describe('custom tools', () => {
  it('the default agent declares read_thread, and a call returns the thread’s human messages as untrusted context', async () => {
    const results: Array<{ content: unknown; is_error?: boolean }> = [];
    h.agents.onTurn = async (turn) => {
      if (turn.text.includes('kick off')) {
        await turn.gate('humans-wrote');
      }
      results.push(await turn.customTool('read_thread', { limit: 10 }));
      await turn.message('Read it.');
    };
    const agent = [...h.agents.agents.values()][0]!;
    expect(JSON.stringify(agent.tools)).toContain('read_thread');

    await h.sender.command({ text: 'kick off', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.agents.waitFor(() => h.agents.sessions.size === 1);
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U2', text: 'the flaky test is auth.spec' }));
    await h.agents.waitFor(() => [...h.agents.sessions.values()].some((s) => h.agents.received(s.id).length === 2));
    h.agents.release('humans-wrote');
    await h.slack.waitFor(() => h.slack.thread('C1', root.ts).some((m) => m.markdown_text?.includes('Read it.')));
    const text = JSON.stringify(results[0]);
    expect(results[0]!.is_error).toBe(false);
    expect(text).toContain('UNTRUSTED');
    expect(text).toContain('the flaky test is auth.spec');
    expect(text).toContain('U2');
    // The bot's own card and replies are not "human messages".
    expect(text).not.toContain('asked the agent');
    await h.slack.waitFor(() => JSON.stringify(rootOf()?.blocks).includes('Done'));
    expect(JSON.stringify(h.slack.thread('C1', root.ts).map((m) => m.blocks))).toContain(':white_check_mark: *read_thread*');
  });

  it('an unknown tool or bad input comes back as is_error with a reason, and the session carries on', async () => {
    const results: Array<{ content: unknown; is_error?: boolean }> = [];
    h.agents.onTurn = async (turn) => {
      results.push(await turn.customTool('launch_rockets', {}));
      results.push(await turn.customTool('read_thread', { limit: 'lots' }));
      await turn.message('Carrying on.');
    };
    await h.sender.command({ text: 'try tools', user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => h.slack.messages('C1').some((m) => m.markdown_text === 'Carrying on.'));
    expect(results.map((r) => r.is_error)).toEqual([true, true]);
    expect(JSON.stringify(results[0])).toContain('No tool named \\"launch_rockets\\"');
    expect(JSON.stringify(results[1])).toContain('Invalid input for read_thread');
    const warn = h.logs.lines().find((l) => l.msg === 'agent called an unknown custom tool');
    expect(warn).toMatchObject({ tool: 'launch_rockets', sessionId: expect.stringMatching(/^sesn_/), channel: 'C1' });
  });
});
