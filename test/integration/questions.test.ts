import { afterEach, describe, expect, it } from 'vitest';
import { blockAction, humanReply } from '../fakes/slack/index.js';
import type { StoredMessage } from '../fakes/slack/types.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

type ToolAnswer = { content: unknown; is_error?: boolean };
const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const keyOf = (m: StoredMessage) => (m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '';
const questionCard = (rootTs: string) => botReplies(h.slack, 'C1', rootTs).find((m) => keyOf(m).startsWith('question:'));
const textOf = (answer: ToolAnswer) => JSON.stringify(answer.content);

/** /agent by U1, whose agent asks `input`; resolves when the question is in the thread. */
async function askAndWait(input: unknown, answers: ToolAnswer[]): Promise<{ rootTs: string; sessionId: string; card: StoredMessage }> {
  h.agents.onTurn = async (turn) => {
    answers.push(await turn.customTool('ask_user', input));
    await turn.message('Thanks, carrying on.');
  };
  await h.sender.command({ text: 'ship it', user: 'U1', channel: 'C1' });
  const root = await h.slack.waitFor(() => rootOf());
  const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
  const card = await h.slack.waitFor(() => questionCard(root.ts));
  return { rootTs: root.ts, sessionId: session.id, card };
}

describe('ask_user', () => {
  it('shows the question with its choices; the owner’s button answers it and the card keeps the answer', async () => {
    h = await startHarness();
    const answers: ToolAnswer[] = [];
    const { rootTs, card } = await askAndWait({ question: 'Which environment?', choices: ['staging', 'production'] }, answers);
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain('Which environment?');
    expect(blocks).toContain('answer_question:1');
    const eventId = keyOf(card).slice('question:'.length);

    await h.sender.action(
      blockAction({
        user: 'U1',
        channel: 'C1',
        messageTs: card.ts,
        threadTs: rootTs,
        actionId: 'answer_question:1',
        value: JSON.stringify({ e: eventId, i: 1 }),
        message: { blocks: card.blocks },
      }),
    );
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Thanks, carrying on.'));
    await h.bot.settled();
    expect(answers).toHaveLength(1);
    expect(answers[0]!.is_error).toBe(false);
    expect(textOf(answers[0]!)).toContain('<@U1> answered: production');
    const settled = JSON.stringify(questionCard(rootTs)!.blocks);
    expect(settled).toContain('production');
    expect(settled).toContain('<@U1>');
    expect(settled).not.toContain('answer_question');
  });

  it('while a question is open, the owner’s reply answers it instead of steering; others are told they cannot', async () => {
    h = await startHarness();
    const answers: ToolAnswer[] = [];
    const { rootTs, sessionId } = await askAndWait({ question: 'What should the release be called?' }, answers);
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U2', text: 'call it banana' }));
    await h.slack.waitFor(() => h.slack.callsTo('chat.postEphemeral').length === 1);
    const mine = humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: 'Call it Aurora' });
    await h.sender.event(mine);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Thanks, carrying on.'));
    await h.bot.settled();
    expect(textOf(answers[0]!)).toContain('<@U1> answered: Call it Aurora');
    // Answers are tool results, never user.messages.
    expect(h.agents.received(sessionId).map((e) => e.type)).toEqual(['user.message', 'user.custom_tool_result']);
    expect(String(h.slack.callsTo('chat.postEphemeral')[0]!.args.text)).toContain('Only <@U1>');
    expect(
      h.slack
        .messages('C1')
        .find((m) => m.ts === mine.ts)
        ?.reactions.some((r) => r.name === 'eyes'),
    ).toBe(true);
  });

  it('an unanswered question times out into an is_error result the agent can act on', async () => {
    h = await startHarness({}, { questionTimeoutMs: 50 });
    const answers: ToolAnswer[] = [];
    const { rootTs } = await askAndWait({ question: 'Anyone there?' }, answers);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Thanks, carrying on.'));
    await h.bot.settled();
    expect(answers[0]!.is_error).toBe(true);
    expect(textOf(answers[0]!)).toContain('nobody answered within');
    // The card's edit is a status write: it may follow the agent's words.
    await h.slack.waitFor(() => JSON.stringify(questionCard(rootTs)!.blocks).includes('closed without an answer'));
  });

  it('bad input is refused with a reason and no question is shown', async () => {
    h = await startHarness();
    const answers: ToolAnswer[] = [];
    h.agents.onTurn = async (turn) => {
      answers.push(await turn.customTool('ask_user', { question: '', choices: ['only one'] }));
      await turn.message('Understood.');
    };
    await h.sender.command({ text: 'ask badly', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => rootOf());
    await h.slack.waitFor(() => agentText(h.slack, 'C1', root.ts).includes('Understood.'));
    await h.bot.settled();
    expect(answers[0]!.is_error).toBe(true);
    expect(textOf(answers[0]!)).toContain('Invalid input for ask_user');
    expect(questionCard(root.ts)).toBeUndefined();
  });

  it('an open question survives a restart: the card is not posted again and a reply still answers it', async () => {
    h = await startHarness();
    const answers: ToolAnswer[] = [];
    const { rootTs } = await askAndWait({ question: 'Proceed with the migration?', choices: ['yes', 'no'] }, answers);
    await h.restart();
    await h.bot.settled();
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: rootTs, user: 'U1', text: 'yes, go ahead' }));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Thanks, carrying on.'));
    await h.bot.settled();
    expect(answers).toHaveLength(1);
    expect(textOf(answers[0]!)).toContain('yes, go ahead');
    expect(botReplies(h.slack, 'C1', rootTs).filter((m) => keyOf(m).startsWith('question:'))).toHaveLength(1);
  });
});
