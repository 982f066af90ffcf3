/**
 * The playground's demo agent: a scripted turn for the fake Managed Agents server, so
 * every part of a thread can be seen without an API key. It streams its words (previews
 * of `agent.message`, as the API sends them with `event_deltas`), runs tools, asks for an
 * approval and a question, writes a file, reports usage, and on request fails or counts
 * until stopped. No model is involved: the page says so.
 */
import { randomUUID } from 'node:crypto';
import type { FakeManagedAgents, Turn, TurnScript } from '../test/fakes/managed-agents/index.js';
import { ASK_USER } from '../src/agents/tools/ask-user.js';

export type DemoOptions = {
  /** Pause between streamed pieces, so the stream can be watched (0: as fast as possible). */
  paceMs: number;
};

/** What a reply in a demo thread can ask for; anything else is taken as steering. */
export const DEMO_WORDS = { count: 'count', error: 'error', tour: 'tour' } as const;

export function demoAgent(fake: Pick<FakeManagedAgents, 'emit'>, options: DemoOptions): TurnScript {
  const toured = new Set<string>();
  return async (turn) => {
    const say = (text: string) => stream(fake, turn, text, options.paceMs);
    const asked = turn.text.trim().toLowerCase();
    if (asked === DEMO_WORDS.error) return failOnPurpose(turn, say);
    if (asked === DEMO_WORDS.count) return countUntilStopped(turn, say, options.paceMs);
    if (toured.has(turn.sessionId) && asked !== DEMO_WORDS.tour) return steered(turn, say);
    toured.add(turn.sessionId);
    await tour(turn, say);
  };
}

type Say = (text: string) => Promise<void>;

async function tour(turn: Turn, say: Say): Promise<void> {
  await turn.thinking();
  await say(
    `Hi! I'm the **demo agent** of the playground: a script, not a model. You asked:\n\n> ${oneLine(turn.text)}\n\n` +
      'I will show every part of a thread: streamed text like this, tool calls, an approval, a question, a file and usage.',
  );
  await turn.toolUse('bash', { command: 'ls -la /workspace' }, { text: 'README.md\npackage.json\nsrc/\n' });
  await turn.toolUse('read', { file_path: '/workspace/package.json' }, { text: '{ "name": "demo" }' });
  await say(
    'Here is some Markdown the bot passes through as `markdown_text`:\n\n' +
      '- a list item with `inline code`\n- a [link](https://docs.anthropic.com)\n\n' +
      "```ts\nexport function greet(name: string): string {\n  return 'Hello, ' + name + '!';\n}\n```",
  );
  const decision = await turn.confirmToolUse('bash', { command: 'rm -rf /workspace/build' }, { text: 'removed /workspace/build' });
  await say(
    decision.result === 'allow'
      ? 'You approved the `bash` call, so I removed `/workspace/build`.'
      : `You denied the \`bash\` call${decision.deny_message ? ` (“${decision.deny_message}”)` : ''}, so I left the build folder alone.`,
  );
  if (turn.customTools.includes(ASK_USER)) {
    const answer = await turn.customTool(ASK_USER, { question: 'Which format should the summary have?', choices: ['Markdown', 'Plain text'] });
    // The tool's result says who answered (`<@U…> answered: …`); the words are what the demo repeats.
    const words = textOf(answer.content).replace(/^<@[A-Z0-9]+> answered: /, '');
    await say(`Thanks, noted: “${words || 'no answer'}”.`);
  }
  await turn.writeOutput('summary.md', `# Demo summary\n\nYou asked: ${turn.text}\n`, { mimeType: 'text/markdown' });
  await turn.usage({ input_tokens: 12_400, output_tokens: 1_850 });
  await say(
    'Done: `summary.md` is shared below once this turn ends. Reply in the thread to steer me; ' +
      `reply \`${DEMO_WORDS.count}\` and press Stop (or react with :octagonal_sign:) to interrupt me, or \`${DEMO_WORDS.error}\` to see a failure.`,
  );
}

async function steered(turn: Turn, say: Say): Promise<void> {
  await turn.thinking();
  await say(
    `Steering received: “${oneLine(turn.text)}”. (Demo agent: I only echo it. Try \`${DEMO_WORDS.count}\`, \`${DEMO_WORDS.error}\` or \`${DEMO_WORDS.tour}\`.)`,
  );
  await turn.usage({ input_tokens: 800, output_tokens: 120 });
}

async function countUntilStopped(turn: Turn, say: Say, paceMs: number): Promise<void> {
  await say('Counting until you press Stop or react with :octagonal_sign:…');
  // At most ten minutes of counting, however fast the pace: an unattended thread ends by itself.
  const limit = Math.max(20, Math.floor(600_000 / Math.max(paceMs * 4, 1)));
  for (let n = 1; n <= limit; n++) {
    await turn.toolUse('bash', { command: `echo ${n}` }, { text: String(n) });
    await turn.wait(Math.max(paceMs * 4, 250));
  }
  await say(`I counted to ${limit} and stopped on my own.`);
}

async function failOnPurpose(turn: Turn, say: Say): Promise<void> {
  await say('Failing on purpose, to show how an API error reads in the thread.');
  await turn.error('overloaded_error', 'Overloaded (the demo agent failed on purpose)', 'exhausted');
}

/**
 * Streams `text` as the API does for a client that asked for `event_deltas`: an
 * `event_start`, a few `event_delta`s, then the `agent.message` with the same id. The
 * turn's wait rejects once the turn is interrupted, so a stopped turn stops streaming.
 */
async function stream(fake: Pick<FakeManagedAgents, 'emit'>, turn: Turn, text: string, paceMs: number): Promise<void> {
  const id = `sevt_demo_${randomUUID().replaceAll('-', '')}`;
  fake.emit(turn.sessionId, { type: 'event_start', event: { type: 'agent.message', id } });
  for (const piece of pieces(text)) {
    await turn.wait(paceMs);
    fake.emit(turn.sessionId, {
      type: 'event_delta',
      event_id: id,
      delta: { type: 'content_delta', index: 0, content: { type: 'text', text: piece } },
    });
  }
  await turn.wait(paceMs);
  fake.emit(turn.sessionId, { type: 'agent.message', id, content: [{ type: 'text', text }] });
}

/** A few words at a time, as a model's output arrives. */
function pieces(text: string): string[] {
  const words = text.match(/\S+\s*/g) ?? [text];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 4) out.push(words.slice(i, i + 4).join(''));
  return out;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((b: unknown) =>
      typeof b === 'object' && b !== null && typeof (b as { text?: unknown }).text === 'string' ? (b as { text: string }).text : '',
    )
    .join(' ')
    .trim();
}
