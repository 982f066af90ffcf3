import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockAction, humanReply, reactionAdded } from '../fakes/slack/index.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  h.agents.onTurn = async (turn) => {
    await turn.message('Starting a long job.');
    await turn.gate('never');
  };
});
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const rootText = () => JSON.stringify(rootOf()?.blocks ?? '');

async function startRunning(): Promise<{ rootTs: string; sessionId: string }> {
  await h.sender.command({ text: 'long job', user: 'U1', channel: 'C1' });
  const root = await h.slack.waitFor(() => rootOf());
  const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
  await h.slack.waitFor(() => h.slack.thread('C1', root.ts).some((m) => m.markdown_text === 'Starting a long job.'));
  await h.slack.waitFor(() => rootText().includes('stop_session'));
  return { rootTs: root.ts, sessionId: session.id };
}

describe('stopping', () => {
  it('the Stop button sends user.interrupt and the root says who stopped it', async () => {
    const { rootTs, sessionId } = await startRunning();
    await h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: rootTs, actionId: 'stop_session', value: `T1:C1:${rootTs}` }));
    await h.slack.waitFor(() => rootText().includes('Stopped by <@U1>'));
    expect(rootText()).not.toContain('stop_session');
    expect(h.agents.received(sessionId).map((e) => e.type)).toEqual(['user.message', 'user.interrupt']);
  });

  it('an :octagonal_sign: reaction on a thread reply stops it too', async () => {
    const { rootTs, sessionId } = await startRunning();
    const reply = humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U3', text: 'hmm' });
    h.slack.addHumanMessage('C1', { user: 'U3', text: 'hmm', thread_ts: rootTs, ts: String(reply.ts) });
    await h.sender.event(reactionAdded({ user: 'U1', reaction: 'octagonal_sign', channel: 'C1', ts: String(reply.ts) }));
    await h.slack.waitFor(() => rootText().includes('Stopped by <@U1>'));
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.interrupt')).toHaveLength(1);
  });

  it('a second click while stopping, or a stop when nothing runs, sends nothing and answers politely', async () => {
    const { rootTs, sessionId } = await startRunning();
    const click = () => h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: rootTs, actionId: 'stop_session' }));
    await click();
    await h.slack.waitFor(() => rootText().includes('Stopped by'));
    await click();
    await h.sender.event(reactionAdded({ user: 'U1', reaction: 'octagonal_sign', channel: 'C1', ts: rootTs }));
    await h.bot.settled();
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.interrupt')).toHaveLength(1);
    const ephemerals = h.slack.callsTo('chat.postEphemeral').map((c) => [c.args.user, c.args.text]);
    expect(ephemerals).toEqual([
      ['U1', expect.stringContaining('Nothing is running')],
      ['U1', expect.stringContaining('Nothing is running')],
    ]);
  });

  it('ignores other reactions', async () => {
    const { rootTs, sessionId } = await startRunning();
    await h.sender.event(reactionAdded({ user: 'U3', reaction: 'thumbsup', channel: 'C1', ts: rootTs }));
    await h.bot.settled();
    expect(h.agents.received(sessionId).map((e) => e.type)).toEqual(['user.message']);
  });
});
