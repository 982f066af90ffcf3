import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import { appMention, blockAction, humanReply } from '../fakes/slack/index.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');
const texts = (ts: string) => botReplies(h.slack, 'C1', ts).map((m) => m.markdown_text ?? m.text);

describe('a thread through stops, outages, crashes and races', () => {
  it('a turn that follows a Stop ends as Done, not as stopped again', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      if (turn.text.includes('forever')) {
        await turn.message('Working.');
        await turn.gate('never');
      }
      await turn.message(`Redirected: ${turn.text}`);
    };
    await h.sender.command({ text: 'work forever', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => texts(root.ts).includes('Working.') && rootText().includes('stop_session'));
    await h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts, actionId: 'stop_session' }));
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'do this instead' }));
    await h.slack.waitFor(() => texts(root.ts).includes('Redirected: do this instead'));
    await h.slack.waitFor(() => rootText().includes('Done'));
    await h.bot.settled();
    expect(rootText()).not.toContain('Stopp');
  });

  it('a Slack outage longer than the retries delays a message; it is not dropped', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.message('Important answer.');
    };
    await h.sender.command({ text: 'hello', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.agents.waitFor(() => h.agents.sessions.size === 1);
    h.slack.failNext('chat.postMessage', { status: 503, times: 6 });
    await h.slack.waitFor(() => texts(root.ts).includes('Important answer.'), 15_000);
    await h.bot.settled();
    expect(texts(root.ts).filter((t) => t === 'Important answer.')).toHaveLength(1);
  });

  it('after a crash between a post and its record, the restart adopts the post instead of posting again', async () => {
    // Posted (not streamed) text carries a metadata key Slack can be searched for.
    h = await startHarness({}, { maxStreams: 0 });
    h.agents.onTurn = async (turn) => {
      await turn.message('Posted before the crash.');
      await turn.gate('later');
      await turn.message('After the restart.');
    };
    await h.sender.command({ text: 'go', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => texts(root.ts).includes('Posted before the crash.'));
    await h.bot.settled();
    await h.restart(async () => {
      // What a crash right after chat.postMessage returned would leave behind.
      const kv = await openStore(h.env.STORE_URL);
      const records = new ThreadRecords(kv);
      const ref = { team: 'T1', channel: 'C1', threadTs: root.ts };
      const record = await records.get(ref);
      const key = Object.keys(record!.segments).find((k) => k.startsWith('text:'))!;
      await records.update(ref, (r) => {
        delete r.segments[key];
      });
      await kv.disconnect();
    });
    h.agents.release('later');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('After the restart.') && rootText().includes('Done'));
    await h.bot.settled();
    expect(agentText(h.slack, 'C1', root.ts)).toBe('Posted before the crash.\n\nAfter the restart.');
    expect(h.logs.lines().some((l) => l.msg === 'adopted posts that were made but not recorded')).toBe(true);
  });

  it('a steer sent mid-run that landed but answered 500 is not sent twice', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      if (turn.text.includes('job')) await turn.gate('job');
      await turn.message(`Did: ${turn.text}`);
    };
    await h.sender.command({ text: 'the job', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
    await h.agents.waitFor(() => h.agents.events(session.id).some((e) => e.type === 'session.status_running'));
    h.agents.failNext({ method: 'POST', path: `/v1/sessions/${session.id}/events` }, { status: 500, afterApply: true });
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'also do X' }));
    await h.agents.waitFor(() => h.agents.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events')).length >= 2);
    h.agents.release('job');
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Did: also do X') && rootText().includes('Done'));
    await h.bot.settled();
    expect(h.agents.received(session.id).filter((e) => JSON.stringify(e.content).includes('also do X'))).toHaveLength(1);
  });

  it('a mention in a thread whose first start failed starts a fresh session', async () => {
    h = await startHarness();
    const parent = h.slack.addHumanMessage('C1', { user: 'U2', text: 'build broke' });
    h.agents.failNext({ method: 'POST', path: '/v1/sessions' }, { status: 400, message: 'bad' });
    await h.sender.event(appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> look', thread_ts: parent.ts }));
    await h.slack.waitFor(() => h.slack.thread('C1', parent.ts).some((m) => m.text.includes(':warning:')));
    await h.bot.settled();
    await h.sender.event(appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> try again', thread_ts: parent.ts }));
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', parent.ts).some((m) => m.markdown_text === 'You said: try again'));
    expect(h.agents.sessions.size).toBe(1);
  });

  it('two mentions racing in one new thread make one session; the second becomes a reply', async () => {
    h = await startHarness();
    const parent = h.slack.addHumanMessage('C1', { user: 'U2', text: 'question' });
    await Promise.all([
      h.sender.event(appMention({ channel: 'C1', user: 'U1', text: '<@U_BOT> first', thread_ts: parent.ts })),
      h.sender.event(appMention({ channel: 'C1', user: 'U3', text: '<@U_BOT> second', thread_ts: parent.ts })),
    ]);
    await h.slack.waitFor(() =>
      ['You said: first', 'You said: second'].every((t) => botReplies(h.slack, 'C1', parent.ts).some((m) => m.markdown_text === t)),
    );
    await h.bot.settled();
    expect(h.agents.sessions.size).toBe(1);
    expect(botReplies(h.slack, 'C1', parent.ts).filter((m) => JSON.stringify(m.blocks ?? []).includes('asked the agent'))).toHaveLength(1);
  });

  it('a long prompt full of <, > and & still gets its card', async () => {
    h = await startHarness();
    const prompt = `Fix this:\n${'<div class="a">&nbsp;</div>\n'.repeat(70)}`;
    await h.sender.command({ text: prompt, user: 'U1', channel: 'C1' });
    await h.slack.waitFor(() => rootText().includes('Done'));
    expect(h.slack.responseUrlPosts).toHaveLength(0);
    const section = (rootOf()!.blocks as Array<{ text?: { text: string } }>)[0]!.text!.text;
    expect(section.length).toBeLessThanOrEqual(3000);
  });
});
