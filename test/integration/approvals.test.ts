import { afterEach, describe, expect, it } from 'vitest';
import { blockAction } from '../fakes/slack/index.js';
import type { StoredMessage } from '../fakes/slack/types.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const keyOf = (m: StoredMessage) => (m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '';
const cards = (rootTs: string) => botReplies(h.slack, 'C1', rootTs).filter((m) => keyOf(m).startsWith('approval:'));
const cardFor = (rootTs: string, eventId: string) => cards(rootTs).find((m) => keyOf(m) === `approval:${eventId}`);
const hasButtons = (m: StoredMessage | undefined) => JSON.stringify(m?.blocks ?? []).includes('approve_tool');
const confirmations = (sessionId: string) => h.agents.received(sessionId).filter((e) => e.type === 'user.tool_confirmation');

/** /agent by U1; resolves once `count` approval cards with buttons are in the thread. */
async function startAndWaitForCards(count: number): Promise<{ rootTs: string; sessionId: string; eventIds: string[] }> {
  await h.sender.command({ text: 'tidy the repo', user: 'U1', channel: 'C1' });
  const root = await h.slack.waitFor(() => rootOf());
  const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
  const shown = await h.slack.waitFor(() => {
    const withButtons = cards(root.ts).filter(hasButtons);
    return withButtons.length === count && withButtons;
  });
  return { rootTs: root.ts, sessionId: session.id, eventIds: shown.map((m) => keyOf(m).slice('approval:'.length)) };
}

const click = (user: string, rootTs: string, card: StoredMessage, actionId: 'approve_tool' | 'deny_tool', eventId: string) =>
  h.sender.action(blockAction({ user, channel: 'C1', messageTs: card.ts, threadTs: rootTs, actionId, value: eventId }));

describe('tool approvals', () => {
  it('an ask-gated call becomes one card with a preview; Approve by the owner sends allow and the card says who', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: 'rm -rf build/' }, { text: 'removed' });
      await turn.message(`The tool call was ${answer.result}ed.`);
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    const card = cardFor(rootTs, eventIds[0]!)!;
    expect(JSON.stringify(card.blocks)).toContain('$ rm -rf build/');
    expect(card.text).toContain('bash');

    await click('U1', rootTs, card, 'approve_tool', eventIds[0]!);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('The tool call was allowed.'));
    await h.bot.settled();
    expect(confirmations(sessionId)).toEqual([expect.objectContaining({ tool_use_id: eventIds[0], result: 'allow' })]);
    const decided = cardFor(rootTs, eventIds[0]!)!;
    expect(hasButtons(decided)).toBe(false);
    expect(JSON.stringify(decided.blocks)).toMatch(/approved by <@U1> <!date\^\d+\^/);
    expect(cards(rootTs)).toHaveLength(1);
  });

  it('Deny opens a dialog; its reason becomes the deny_message and shows on the card', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('web_fetch', { url: 'https://example.com/secrets' });
      await turn.message(`Denied because: ${answer.deny_message}`);
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    await click('U1', rootTs, cardFor(rootTs, eventIds[0]!)!, 'deny_tool', eventIds[0]!);
    const view = await h.slack.waitFor(() => [...h.slack.views.values()][0]);
    expect(view.callback_id).toBe('deny_reason');
    expect(h.slack.callsTo('views.open')[0]?.response.ok).toBe(true);

    const reply = await h.sender.submitView(view.id, { reason: { reason_input: 'Use the public mirror instead.' } });
    expect(reply.status).toBe(200);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Denied because: Use the public mirror instead.'));
    await h.bot.settled();
    expect(confirmations(sessionId)).toEqual([
      expect.objectContaining({ tool_use_id: eventIds[0], result: 'deny', deny_message: 'Use the public mirror instead.' }),
    ]);
    const card = JSON.stringify(cardFor(rootTs, eventIds[0]!)!.blocks);
    expect(card).toContain('denied by <@U1>');
    expect(card).toContain('Use the public mirror instead.');
    expect(card).not.toContain('deny_tool');
  });

  it('the buttons carry the tool’s name: Deny pressed with the card’s own value asks about that tool and denies that call', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('web_fetch', { url: 'https://example.com/secrets' });
      await turn.message(`Decision: ${answer.result}.`);
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    const card = cardFor(rootTs, eventIds[0]!)!;
    const blocks = (card.blocks ?? []) as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>;
    const deny = blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === 'deny_tool')!;
    await h.sender.action(blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts, threadTs: rootTs, actionId: 'deny_tool', value: deny.value }));
    const view = await h.slack.waitFor(() => [...h.slack.views.values()][0]);
    expect(JSON.stringify(view.blocks)).toContain('Why deny web_fetch? The agent reads this.');

    await h.sender.submitView(view.id, { reason: { reason_input: '' } });
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Decision: deny.'));
    expect(confirmations(sessionId)).toEqual([expect.objectContaining({ tool_use_id: eventIds[0], result: 'deny' })]);
  });

  it('someone who is neither owner nor approver is told so, and nothing is sent; a configured approver may decide', async () => {
    h = await startHarness({ APPROVERS: 'U3' });
    h.agents.onTurn = async (turn) => {
      await turn.confirmToolUse('bash', { command: 'make deploy' });
      await turn.message('Deployed.');
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    const card = cardFor(rootTs, eventIds[0]!)!;
    await click('U2', rootTs, card, 'approve_tool', eventIds[0]!);
    await click('U2', rootTs, card, 'deny_tool', eventIds[0]!);
    await h.bot.settled();
    expect(confirmations(sessionId)).toEqual([]);
    expect(h.slack.views.size).toBe(0);
    const told = h.slack
      .callsTo('chat.postEphemeral')
      .filter((c) => c.args.user === 'U2')
      .map((c) => String(c.args.text));
    expect(told).toHaveLength(2);
    for (const text of told) expect(text).toContain('Only <@U1>, who started this session, the approvers (<@U3>) or an admin');
    expect(hasButtons(cardFor(rootTs, eventIds[0]!))).toBe(true);

    await click('U3', rootTs, card, 'approve_tool', eventIds[0]!);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Deployed.'));
    expect(confirmations(sessionId)).toEqual([expect.objectContaining({ result: 'allow' })]);
    expect(JSON.stringify(cardFor(rootTs, eventIds[0]!)!.blocks)).toContain('approved by <@U3>');
  });

  it('several pending calls each get a card and are answered by their own event id; a second click is refused', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      const [a, b] = await Promise.all([
        turn.confirmToolUse('bash', { command: 'npm test' }),
        turn.confirmToolUse('write', { file_path: '/workspace/NOTES.md', content: 'hello' }),
      ]);
      await turn.message(`first ${a.result}, second ${b.result}`);
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(2);
    const [first, second] = eventIds as [string, string];
    const bashCard = cards(rootTs).find((m) => JSON.stringify(m.blocks).includes('npm test'))!;
    const bashId = keyOf(bashCard).slice('approval:'.length);
    const writeId = bashId === first ? second : first;
    await click('U1', rootTs, bashCard, 'approve_tool', bashId);
    await h.agents.waitFor(() => confirmations(sessionId).length === 1);
    await click('U1', rootTs, bashCard, 'approve_tool', bashId);
    await click('U1', rootTs, cardFor(rootTs, writeId)!, 'deny_tool', writeId);
    const view = await h.slack.waitFor(() => [...h.slack.views.values()][0]);
    await h.sender.submitView(view.id, { reason: { reason_input: '' } });
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('first allow, second deny'));
    await h.bot.settled();
    expect(confirmations(sessionId).map((e) => [e.tool_use_id, e.result])).toEqual([
      [bashId, 'allow'],
      [writeId, 'deny'],
    ]);
    expect(confirmations(sessionId)[1]?.deny_message ?? null).toBeNull();
    const again = h.slack.callsTo('chat.postEphemeral').map((c) => String(c.args.text));
    expect(again).toEqual([expect.stringContaining('already been decided')]);
  });

  it('a pending approval survives a restart: rebuilt from history, not posted twice, and still decidable', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.confirmToolUse('bash', { command: 'terraform apply' });
      await turn.message('Applied.');
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    await h.restart();
    await h.bot.settled();
    expect(cards(rootTs)).toHaveLength(1);
    await click('U1', rootTs, cardFor(rootTs, eventIds[0]!)!, 'approve_tool', eventIds[0]!);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Applied.'));
    await h.bot.settled();
    expect(confirmations(sessionId)).toHaveLength(1);
    expect(cards(rootTs)).toHaveLength(1);
    expect(JSON.stringify(cardFor(rootTs, eventIds[0]!)!.blocks)).toContain('approved by <@U1>');
  });

  it('a decision whose send looked failed but landed (5xx after apply) is sent once, and the card is settled', async () => {
    h = await startHarness();
    h.agents.onTurn = async (turn) => {
      await turn.confirmToolUse('bash', { command: 'git push' });
      await turn.message('Pushed.');
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    h.agents.failNext({ method: 'POST', path: `/v1/sessions/${sessionId}/events` }, { status: 500, afterApply: true });
    await click('U1', rootTs, cardFor(rootTs, eventIds[0]!)!, 'approve_tool', eventIds[0]!);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Pushed.'));
    await h.bot.settled();
    expect(confirmations(sessionId)).toHaveLength(1);
    expect(h.slack.callsTo('chat.postEphemeral')).toEqual([]);
    expect(JSON.stringify(cardFor(rootTs, eventIds[0]!)!.blocks)).toContain('approved by <@U1>');
  });

  it('a profile’s approvers may decide in that profile’s sessions and nowhere else', async () => {
    h = await startHarness(
      {},
      {
        agentsConfig: `
default_profile: general
profiles:
  general:
    agent: { model: claude-sonnet-5-5 }
  ops:
    agent: { model: claude-sonnet-5-5 }
    approvers: [UOPS]
`,
      },
    );
    h.agents.onTurn = async (turn) => {
      await turn.confirmToolUse('bash', { command: 'kubectl rollout restart' });
      await turn.message('Restarted.');
    };
    const root = async (text: string) => {
      await h.sender.command({ text, user: 'U1', channel: 'C1' });
      return h.slack.waitFor(() =>
        h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id && JSON.stringify(m.blocks).includes(text.replace(/^--profile \S+ /, ''))),
      );
    };
    const general = await root('restart general');
    const generalCard = await h.slack.waitFor(() => cards(general.ts).find(hasButtons));
    const ops = await root('--profile ops restart ops');
    const opsCard = await h.slack.waitFor(() => cards(ops.ts).find(hasButtons));

    await click('UOPS', general.ts, generalCard, 'approve_tool', keyOf(generalCard).slice('approval:'.length));
    await h.slack.waitFor(() => h.slack.callsTo('chat.postEphemeral').length === 1);
    expect(String(h.slack.callsTo('chat.postEphemeral')[0]!.args.text)).toContain('Only <@U1>');

    await click('UOPS', ops.ts, opsCard, 'approve_tool', keyOf(opsCard).slice('approval:'.length));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', ops.ts).includes('Restarted.'));
    expect(JSON.stringify(cardFor(ops.ts, keyOf(opsCard).slice('approval:'.length))!.blocks)).toContain('approved by <@UOPS>');
    expect(hasButtons(cardFor(general.ts, keyOf(generalCard).slice('approval:'.length)))).toBe(true);
  });

  it('two people deciding at the same moment: the first decision is sent, the other is told it was decided', async () => {
    h = await startHarness({ APPROVERS: 'U3' });
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: 'make release' });
      await turn.message(`Release ${answer.result}ed.`);
    };
    const { rootTs, sessionId, eventIds } = await startAndWaitForCards(1);
    const card = cardFor(rootTs, eventIds[0]!)!;
    await Promise.all([click('U1', rootTs, card, 'approve_tool', eventIds[0]!), click('U3', rootTs, card, 'approve_tool', eventIds[0]!)]);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Release allowed.'));
    await h.bot.settled();
    expect(confirmations(sessionId)).toHaveLength(1);
    const told = h.slack.callsTo('chat.postEphemeral').map((c) => [c.args.user, String(c.args.text)]);
    expect(told).toHaveLength(1);
    expect(told[0]![1]).toContain('already been decided');
    const decider = told[0]![0] === 'U1' ? 'U3' : 'U1';
    expect(JSON.stringify(cardFor(rootTs, eventIds[0]!)!.blocks)).toContain(`approved by <@${decider}>`);
  });
});
