import type { FakeManagedAgents } from '../../fakes/managed-agents/index.js';
import type { FakeSlack, StoredMessage } from '../../fakes/slack/index.js';

/**
 * One turn that makes every kind of Slack write the bot does: the root card, streamed
 * text (start, appends, stop), the activity message and its edits, an approval card
 * that waits for a click, a posted message, a question card that waits for an answer,
 * a long answer posted in parts and then attached as a file, the usage line and an
 * output file share. Words are numbered so a doubled or lost one shows.
 */
export const PROMPT = 'run the full turn';

const words = (letter: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${letter}${from + i}`).join(' ');
/** Paragraphs of the long answer: past the thread's overflow limit, so it ends up as a file too. */
export const LONG_ANSWER = Array.from({ length: 24 }, (_, p) => words(`e${p}x`, 1, 9)).join('\n\n');

/** Text limits for the bot under test: small messages and a low overflow, short waits. */
export const TEXT_LIMITS = { flushMs: 120, streamLingerMs: 300, postLingerMs: 30, maxSegment: 400, maxMessage: 400, overflowAt: 900 };

/** `pace(ms)`: the agent's think time between pieces (a kill test also waits for the bot to be up again). */
export function installFullTurn(
  agents: FakeManagedAgents,
  pace: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): void {
  agents.onTurn = async (turn) => {
    if (turn.text !== PROMPT) return void (await turn.message(`Next: ${turn.text}`));
    // Eight paced pieces of one text block: a stream starts, takes appends, rolls on after a restart.
    for (const letter of ['a', 'b', 'f', 'g', 'h', 'i', 'j', 'k']) {
      await turn.message(words(letter, 1, 8));
      await pace(700);
    }
    await turn.toolUse('bash', { command: 'make' }, { text: 'built' });
    await turn.message(words('c', 1, 8));
    await pace(600);
    await turn.toolUse('read', { file_path: '/workspace/README.md' }, { text: 'read' });
    await turn.confirmToolUse('bash', { command: 'make deploy' }, { text: 'deployed' });
    await turn.message(words('d', 1, 8));
    await turn.customTool('ask_user', { question: 'Which colour?', choices: ['red', 'blue'] });
    await turn.writeOutput('report.txt', 'the report', { mimeType: 'text/plain' });
    await turn.message(LONG_ANSWER);
    await turn.usage({ input_tokens: 1200, output_tokens: 300 });
  };
}

export const metaKey = (m: StoredMessage): string | undefined => {
  const key = m.metadata?.event_payload?.key;
  return typeof key === 'string' ? key : undefined;
};

export function botReplies(slack: FakeSlack, channel: string, rootTs: string): StoredMessage[] {
  return slack.thread(channel, rootTs).filter((m) => m.ts !== rootTs && m.bot_id && !m.deleted);
}

export function rootsIn(slack: FakeSlack, channel: string): StoredMessage[] {
  return slack.messages(channel).filter((m) => !m.thread_ts && m.bot_id && !m.deleted);
}

const split = (text: string) => text.split(/\s+/).filter(Boolean);

/**
 * Everything that must hold when the turn is over, as a list of problems (empty: all good):
 * the thread word for word with the agent's text, one root, one session, the prompt sent
 * once, each keyed card once, each file once.
 */
export function problemsWithThread(slack: FakeSlack, agents: FakeManagedAgents, channel: string): string[] {
  const problems: string[] = [];
  const roots = rootsIn(slack, channel);
  if (roots.length !== 1) problems.push(`${roots.length} root cards`);
  if (agents.sessions.size !== 1) problems.push(`${agents.sessions.size} sessions`);
  const root = roots[0];
  const session = [...agents.sessions.values()][0];
  if (!root || !session) return problems;
  const prompts = agents.received(session.id).filter((e) => e.type === 'user.message' && JSON.stringify(e.content).includes(PROMPT));
  if (prompts.length !== 1) problems.push(`prompt sent ${prompts.length} times`);

  const replies = botReplies(slack, channel, root.ts);
  const keys = replies.map(metaKey).filter((k): k is string => k !== undefined);
  for (const k of new Set(keys))
    if (keys.filter((x) => x === k).length > 1) problems.push(`key ${k} posted ${keys.filter((x) => x === k).length} times`);
  for (const prefix of ['tools:', 'approval:', 'question:', 'usage:']) {
    const n = keys.filter((k) => k.startsWith(prefix)).length;
    if (n !== 1) problems.push(`${n} ${prefix} messages`);
  }
  const fileNames = replies.flatMap((m) => (m.files ?? []).map((f) => (f as { name?: string }).name));
  for (const name of ['report.txt', 'agent-answer.md']) {
    const n = fileNames.filter((f) => f === name).length;
    if (n !== 1) problems.push(`${name} shared ${n} times`);
  }
  const upload = [...slack.uploads.values()].filter((u) => u.filename === 'agent-answer.md' && u.channel);
  if (upload.length === 1 && upload[0]!.content?.toString('utf8') !== LONG_ANSWER) problems.push('the attached answer differs from the agent’s text');

  // The agent's words in order; the long answer's tail lives in the file.
  const said = agents
    .events(session.id)
    .filter((e) => e.type === 'agent.message')
    .map((e) => (e.content as Array<{ text?: string }>)[0]?.text ?? '');
  const expected = split(said.filter((t) => t !== LONG_ANSWER).join(' '));
  const shown = split(
    replies
      .map((m) => m.markdown_text)
      .filter((t): t is string => typeof t === 'string')
      .join(' '),
  );
  const head = shown.slice(0, expected.length);
  const tail = shown.slice(expected.length);
  const long = split(LONG_ANSWER);
  if (head.join(' ') !== expected.join(' ')) problems.push(`thread words differ:\n  want ${expected.join(' ')}\n  got  ${head.join(' ')}`);
  if (tail.length === 0 || tail.join(' ') !== long.slice(0, tail.length).join(' ')) {
    problems.push(`the long answer's start is wrong: ${tail.slice(0, 40).join(' ')}`);
  }
  return problems;
}
