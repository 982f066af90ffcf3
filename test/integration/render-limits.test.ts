import { afterEach, describe, expect, it } from 'vitest';
import { OUTPUT_LIMITS } from '../../src/delivery/output-plan.js';
import { PREVIEW_CHARS } from '../../src/render/approval-card.js';
import { checkMessage } from '../../src/render/block-kit-check.js';
import { SLACK_LIMITS } from '../../src/render/slack-limits.js';
import { blockAction } from '../fakes/slack/index.js';
import type { StoredMessage } from '../fakes/slack/types.js';
import { agentText, botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const rootOf = () => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id);
const keyOf = (m: StoredMessage) => (m.metadata?.event_payload as { key?: string } | undefined)?.key ?? '';
const withKey = (rootTs: string, prefix: string) => botReplies(h.slack, 'C1', rootTs).filter((m) => keyOf(m).startsWith(prefix));
const hasButton = (m: StoredMessage | undefined, actionId: string) => JSON.stringify(m?.blocks ?? []).includes(actionId);
const refusedPosts = () => h.slack.calls.filter((c) => !c.response.ok && c.method.startsWith('chat.'));
const refusalLogs = () => h.logs.lines().filter((l) => /slack refused|could not edit a status message/.test(String(l.msg)));

/** A `sed` script as an agent writes one: 2,000 characters, most of them escaped by Slack's mrkdwn. */
const SED = `sed -i -e 's/&lt;/</g; s/&gt;/>/g; s/&amp;/\\&/g' -e '${'s/<>&/&<>/g; s/<a>/&lt;a&gt;/g; '.repeat(80)}' index.html`.slice(0, 2000);

async function startTurn(): Promise<{ rootTs: string; sessionId: string }> {
  await h.sender.command({ text: 'clean up the html', user: 'U1', channel: 'C1' });
  const root = await h.slack.waitFor(() => rootOf());
  const session = await h.agents.waitFor(() => [...h.agents.sessions.values()][0]);
  return { rootTs: root.ts, sessionId: session.id };
}

const click = (rootTs: string, card: StoredMessage, actionId: string, value: string) =>
  h.sender.action(
    blockAction({ user: 'U1', channel: 'C1', messageTs: card.ts, threadTs: rootTs, actionId, value, message: { blocks: card.blocks } }),
  );

describe('what the bot renders from agent content fits Slack', () => {
  it('a 2,000-character sed script full of & < >: the approval card shows with its buttons, Approve reaches the agent, the turn ends', async () => {
    h = await startHarness();
    expect(SED).toHaveLength(2000);
    // Escaped, the part the card previews is longer than a section may be.
    const escaped = SED.slice(0, PREVIEW_CHARS).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    expect(escaped.length).toBeGreaterThan(SLACK_LIMITS.sectionText);
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: SED }, { text: 'done' });
      await turn.message(`The sed call was ${answer.result}ed.`);
    };
    const { rootTs, sessionId } = await startTurn();
    const card = await h.slack.waitFor(() => withKey(rootTs, 'approval:').find((m) => hasButton(m, 'approve_tool')));
    expect(hasButton(card, 'deny_tool')).toBe(true);
    expect(JSON.stringify(card.blocks)).toContain('$ sed -i -e');
    expect(checkMessage({ text: card.text, blocks: card.blocks })).toBeUndefined();
    const eventId = keyOf(card).slice('approval:'.length);

    await click(rootTs, card, 'approve_tool', eventId);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('The sed call was allowed.'));
    await h.bot.settled();
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.tool_confirmation')).toEqual([
      expect.objectContaining({ tool_use_id: eventId, result: 'allow' }),
    ]);
    expect(JSON.stringify(withKey(rootTs, 'approval:')[0]!.blocks)).toMatch(/approved by <@U1>/);
    expect(refusedPosts()).toEqual([]);
    expect(refusalLogs()).toEqual([]);
  });

  it('a 5,000-character question with five 300-character choices: every choice has a button, and the agent gets the whole choice', async () => {
    h = await startHarness();
    const question = `${'Which of these migration plans should I follow, given the constraints above? '.repeat(70).slice(0, 4999)}?`;
    const choices = Array.from({ length: 5 }, (_, i) =>
      `Plan ${i + 1}: ${'move the <legacy> tables & their indexes, then '.repeat(7)}`.slice(0, 300),
    );
    const answers: Array<{ content: unknown; is_error?: boolean }> = [];
    h.agents.onTurn = async (turn) => {
      answers.push(await turn.customTool('ask_user', { question, choices }));
      await turn.message('Following that plan.');
    };
    const { rootTs } = await startTurn();
    const card = await h.slack.waitFor(() => withKey(rootTs, 'question:')[0]);
    for (let i = 0; i < 5; i++) expect(hasButton(card, `answer_question:${i}`)).toBe(true);
    expect(checkMessage({ text: card.text, blocks: card.blocks })).toBeUndefined();
    const shown = JSON.stringify(card.blocks);
    expect(shown).toContain('given the constraints above?');
    expect(shown).toContain('move the &lt;legacy&gt; tables &amp; their indexes');

    await click(rootTs, card, 'answer_question:3', JSON.stringify({ e: keyOf(card).slice('question:'.length), i: 3 }));
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Following that plan.'));
    await h.bot.settled();
    expect(answers).toHaveLength(1);
    expect(answers[0]!.is_error).toBe(false);
    expect(JSON.stringify(answers[0]!.content)).toContain(JSON.stringify(choices[3]).slice(1, -1));
    expect(hasButton(withKey(rootTs, 'question:')[0], 'answer_question')).toBe(false);
    expect(refusedPosts()).toEqual([]);
  });

  it('hundreds of output files with long names: as many as a turn shares are shared, with a list that fits one message, the rest counted', async () => {
    h = await startHarness();
    const names = Array.from({ length: 240 }, (_, i) => `reports/${'<q&a>'.repeat(30)}-${String(i).padStart(3, '0')}.txt`);
    h.agents.onTurn = async (turn) => {
      await turn.toolUse('bash', { command: 'make reports' }, { text: 'ok' });
      for (const name of names) await turn.writeOutput(name, 'x');
      await turn.message('Reports written.');
    };
    const { rootTs } = await startTurn();
    const shared = await h.slack.waitFor(() => botReplies(h.slack, 'C1', rootTs).find((m) => m.files?.length));
    await h.bot.settled();
    expect(shared.files).toHaveLength(OUTPUT_LIMITS.maxFiles);
    expect(shared.text).toContain('The agent produced 240 files');
    expect(shared.text).toMatch(/… and \d+ more$/);
    expect(shared.text.length).toBeLessThanOrEqual(4000);
    expect(shared.text).toContain('&lt;q&amp;a&gt;');
    expect(h.slack.callsTo('files.completeUploadExternal').every((c) => c.response.ok)).toBe(true);
  });
});

describe('a message Slack refuses anyway is replaced, never left out', () => {
  it('an approval card refused with invalid_blocks shows as plain text with the same working buttons; a refused edit shows plainly too', async () => {
    h = await startHarness();
    h.slack.failNext('chat.postMessage', { error: 'invalid_blocks', match: (a) => JSON.stringify(a.metadata ?? {}).includes('approval:') });
    h.agents.onTurn = async (turn) => {
      const answer = await turn.confirmToolUse('bash', { command: 'make deploy' }, { text: 'deployed' });
      await turn.message(`Deploy was ${answer.result}ed.`);
    };
    const { rootTs, sessionId } = await startTurn();
    const card = await h.slack.waitFor(() => withKey(rootTs, 'approval:').find((m) => hasButton(m, 'approve_tool')));
    // The refused card, then the plain stand-in under the same key, with the same buttons.
    const posts = h.slack.callsTo('chat.postMessage').filter((c) => JSON.stringify(c.args.metadata ?? {}).includes('approval:'));
    expect(posts.map((c) => (c.response.ok ? 'ok' : c.response.error))).toEqual(['invalid_blocks', 'ok']);
    expect(JSON.stringify(card.blocks)).toContain('"type":"plain_text","text":"The agent wants to use bash and needs approval');
    expect(JSON.stringify((card.blocks as Array<{ type: string }>).filter((b) => b.type === 'actions'))).toBe(
      JSON.stringify((posts[0]!.args.blocks as Array<{ type: string }>).filter((b) => b.type === 'actions')),
    );
    expect(withKey(rootTs, 'approval:')).toHaveLength(1);

    // The edit that shows the decision is refused too: the card says it plainly, without buttons.
    h.slack.failNext('chat.update', { error: 'invalid_blocks', match: (a) => a.ts === card.ts });
    const eventId = keyOf(card).slice('approval:'.length);
    await click(rootTs, card, 'approve_tool', eventId);
    await h.slack.waitFor(() => agentText(h.slack, 'C1', rootTs).includes('Deploy was allowed.'));
    await h.bot.settled();
    expect(h.agents.received(sessionId).filter((e) => e.type === 'user.tool_confirmation')).toEqual([
      expect.objectContaining({ tool_use_id: eventId, result: 'allow' }),
    ]);
    const decided = withKey(rootTs, 'approval:')[0]!;
    expect(decided.ts).toBe(card.ts);
    expect(hasButton(decided, 'approve_tool')).toBe(false);
    expect(decided.text).toContain('bash approved');
    expect(h.logs.lines().filter((l) => l.msg === 'slack refused a thread message')).toEqual([
      expect.objectContaining({ level: 'error', slackError: 'invalid_blocks', shown: 'plain_with_buttons' }),
    ]);
    expect(h.logs.lines().filter((l) => l.msg === 'could not edit a status message')).toEqual([
      expect.objectContaining({ slackError: 'invalid_blocks', shown: 'plain_line' }),
    ]);
  });
});
