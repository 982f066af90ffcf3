import { describe, expect, it } from 'vitest';
import { initialState, type Item, type ThreadState, type ToolLine } from '../../src/bridge/thread-state.js';
import { outputComment } from '../../src/render/output-comment.js';
import type { OutputFile } from '../../src/agents/files-api.js';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, renderApproval } from '../../src/render/approval-card.js';
import { checkMessage, checkView } from '../../src/render/block-kit-check.js';
import { fallbackBodies, withinLimits } from '../../src/render/fallback.js';
import { renderQuestion } from '../../src/render/question-card.js';
import { renderRootCard } from '../../src/render/root-card.js';
import type { SlackBody } from '../../src/render/slack-message.js';
import { CARD_BUDGET, cutEscaped, cutPlain, fitMrkdwn, SLACK_LIMITS, splitEscaped } from '../../src/render/slack-limits.js';
import { renderThread } from '../../src/render/thread-view.js';
import { denyDialog } from '../../src/render/dialogs.js';
import { seededRandom as rng } from '../support/seeded-random.js';

const ALPHABETS = [
  '&<>', // every character escaped, each grows 4 or 5 times
  '&<>abc \n',
  '😀🚀🧪👩‍💻', // astral plane: surrogate pairs (and a ZWJ sequence)
  '`', // backticks that would close a code fence
  '```\n',
  'ab cd\n\n',
  'é漢字\u200b',
];
const PIECES = ['<!channel>', '<@U123>', '@here', 'xoxb-1234567890-abcdef', '&amp;', '```', '> quote', ':smile:', '<https://x.y|link>'];

/** A random string: long or short, from one alphabet or a mix, with Slack syntax spliced in. */
function randomText(next: () => number, maxLength: number): string {
  const length = Math.floor(next() ** 2 * maxLength);
  const alphabet = next() < 0.8 ? ALPHABETS[Math.floor(next() * ALPHABETS.length)]! : ALPHABETS.join('');
  const chars = [...alphabet];
  let out = '';
  while (out.length < length) {
    out += next() < 0.05 ? PIECES[Math.floor(next() * PIECES.length)]! : chars[Math.floor(next() * chars.length)]!;
  }
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BROKEN_ENTITY = /&(?!amp;|lt;|gt;)/;

/** Every text a message's blocks carry, with the kind of text object it is. */
function texts(blocks: readonly unknown[]): Array<{ type: string; text: string }> {
  const out: Array<{ type: string; text: string }> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push({ type: o.type, text: o.text });
      else Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

/** What every rendered message must be: within Slack's limits and the card budget, and well-formed. */
function expectFits(body: SlackBody, what: string): void {
  expect(checkMessage(body), what).toBeUndefined();
  if ('markdown_text' in body) return;
  expect(body.text.length, `${what}: text`).toBeLessThanOrEqual(CARD_BUDGET.plainText);
  expect(LONE_SURROGATE.test(body.text), `${what}: text splits an emoji`).toBe(false);
  const all = texts(body.blocks ?? []);
  expect(
    all.reduce((n, t) => n + t.text.length, 0),
    `${what}: block text`,
  ).toBeLessThanOrEqual(CARD_BUDGET.blocksText);
  for (const t of all) {
    expect(LONE_SURROGATE.test(t.text), `${what}: splits an emoji`).toBe(false);
    if (t.type === 'mrkdwn') {
      expect(BROKEN_ENTITY.test(t.text.replace(/<!date\^[^>]*>/g, '')), `${what}: raw or cut entity in ${JSON.stringify(t.text.slice(0, 80))}`).toBe(
        false,
      );
    }
  }
}

/** The approval preview is a code block the bot opened: closed again, and nothing inside closes it early. */
function expectClosedPreview(body: SlackBody, what: string): void {
  const preview = texts('blocks' in body ? (body.blocks ?? []) : [])[1]!.text;
  expect(preview.startsWith('```') && preview.endsWith('```'), `${what}: open code block`).toBe(true);
  expect((preview.match(/```/g) ?? []).length, `${what}: a fence inside the code block`).toBe(2);
}

const buttonsOf = (body: SlackBody) => ('blocks' in body ? JSON.stringify((body.blocks ?? []).filter((b) => b.type === 'actions')) : '');

const RUNS = 150;

describe('everything the bot renders fits Slack after escaping (seeded random inputs)', () => {
  it('approval cards: pending with its buttons, decided with any reason, expired', () => {
    const next = rng(1);
    for (let i = 0; i < RUNS; i++) {
      const name = next() < 0.8 ? 'bash' : randomText(next, 400).replace(/\s/g, '_') || 'tool';
      const input =
        next() < 0.5
          ? { command: randomText(next, 20_000) }
          : next() < 0.5
            ? { file_path: randomText(next, 500), content: randomText(next, 20_000) }
            : { anything: randomText(next, 5000), n: [1, 2] };
      const item: Extract<Item, { kind: 'approval' }> = { kind: 'approval', id: `sevt_${i}`, name, input, turn: 1, state: 'pending' };
      const pending = renderApproval(item, undefined, 'U1');
      expectFits(pending, `pending #${i}`);
      expectClosedPreview(pending, `pending #${i}`);
      expect(buttonsOf(pending)).toContain(APPROVE_ACTION_ID);
      expect(buttonsOf(pending)).toContain(DENY_ACTION_ID);
      const reason = randomText(next, 3000);
      const denied = renderApproval(item, { user: 'U2', result: 'deny', reason, at: 1_700_000_000_000 }, 'U1');
      expectFits(denied, `denied #${i}`);
      expectClosedPreview(denied, `denied #${i}`);
      expectFits(renderApproval({ ...item, state: 'allowed' }, undefined, 'U1'), `allowed #${i}`);
      expectFits(renderApproval({ ...item, state: 'expired' }, undefined, 'U1'), `expired #${i}`);
    }
  });

  it('the 2,000-character sed script full of & < > keeps its preview in one closed code block and its buttons', () => {
    const script = `sed -e 's/a&b/<c>/g' ${'&<>'.repeat(660)}`.slice(0, 2000);
    const card = renderApproval(
      { kind: 'approval', id: 'sevt_1', name: 'bash', input: { command: script }, turn: 1, state: 'pending' },
      undefined,
      'U1',
    );
    expectFits(card, 'sed card');
    const preview = texts('blocks' in card ? (card.blocks ?? []) : [])[1]!.text;
    expect(preview.startsWith("```$ sed -e 's/a&amp;b/&lt;c&gt;/g'")).toBe(true);
    expect(preview.endsWith('…```')).toBe(true);
    expect(preview.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(buttonsOf(card)).toContain(APPROVE_ACTION_ID);
  });

  it('questions: any length of question and choices, open, answered and closed', () => {
    const next = rng(2);
    for (let i = 0; i < RUNS; i++) {
      const choices = next() < 0.3 ? [] : Array.from({ length: 2 + Math.floor(next() * 4) }, () => randomText(next, 600) || 'x');
      const item: Extract<Item, { kind: 'question' }> = {
        kind: 'question',
        id: `sevt_${i}`,
        question: randomText(next, 12_000) || '?',
        choices,
        turn: 1,
        open: true,
      };
      const open = renderQuestion(item, undefined, 'U1');
      expectFits(open, `question #${i}`);
      for (let c = 0; c < choices.length; c++) expect(buttonsOf(open)).toContain(`answer_question:${c}`);
      expectFits(renderQuestion(item, { user: 'U2', text: randomText(next, 40_000), at: 1_700_000_000_000 }, 'U1'), `answered #${i}`);
      expectFits(renderQuestion({ ...item, open: false }, undefined, 'U1'), `closed #${i}`);
    }
  });

  it('a 5,000-character question with five 300-character choices is shown in full, each choice listed and on a button', () => {
    const question = 'Which one? '.repeat(455).slice(0, 5000);
    const choices = Array.from({ length: 5 }, (_, i) => `${i + 1}`.repeat(300));
    const card = renderQuestion({ kind: 'question', id: 'sevt_q', question, choices, turn: 1, open: true }, undefined, 'U1');
    expectFits(card, 'long question');
    const shown = texts('blocks' in card ? (card.blocks ?? []) : [])
      .filter((t) => t.type === 'mrkdwn')
      .map((t) => t.text)
      .join('');
    expect(shown.replace(/\s+/g, ' ')).toContain(question.trim().replace(/\s+/g, ' '));
    for (const c of choices) expect(shown).toContain(c);
    expect(shown).not.toContain('…');
  });

  it('the activity message: any number of tools with any names and inputs', () => {
    const next = rng(3);
    for (let i = 0; i < 60; i++) {
      const tools: ToolLine[] = Array.from({ length: 1 + Math.floor(next() * 120) }, (_, n) => ({
        eventId: `t${n}`,
        name: next() < 0.7 ? 'bash' : randomText(next, 300) || 'x',
        input: { command: randomText(next, 2000) },
        status: (['running', 'done', 'failed', 'waiting'] as const)[n % 4]!,
      }));
      const state: ThreadState = { ...initialState(), turn: 1, items: [{ kind: 'tools', id: 't0', tools, turn: 1 }] };
      const block = renderThread(state)[0]!;
      if (block.kind !== 'message') throw new Error('expected the activity message');
      expectFits(block.body, `tools #${i}`);
    }
  });

  it('the root card: any prompt, failure, detail and profile', () => {
    const next = rng(4);
    for (let i = 0; i < RUNS; i++) {
      const state: ThreadState = {
        ...initialState(),
        phase: next() < 0.5 ? 'running' : 'idle',
        outcome: 'failed',
        detail: { kind: 'refused', explanation: randomText(next, 2000) },
      };
      const card = renderRootCard({
        owner: 'U1',
        prompt: randomText(next, 40_000),
        state,
        ...(next() < 0.3 ? { failure: randomText(next, 5000) } : {}),
        ...(next() < 0.3 ? { profile: randomText(next, 300) } : {}),
      });
      expectFits(card, `root #${i}`);
    }
  });

  it('notices, errors and usage lines in the thread', () => {
    const next = rng(5);
    for (let i = 0; i < RUNS; i++) {
      const state: ThreadState = {
        ...initialState(),
        turn: 1,
        items: [
          { kind: 'error', id: 'e1', error: { type: 'billing_error', message: randomText(next, 60_000) }, turn: 1 },
          {
            kind: 'usage',
            id: 'u1',
            turn: 1,
            inputTokens: Math.floor(next() * 1e9),
            outputTokens: 12,
            seconds: 3600 * 30,
            sessionCost: { amount: '123456789', currency: 'USD' },
          },
        ],
      };
      for (const block of renderThread(state, [{ key: 'n', text: randomText(next, 60_000), afterItems: 1 }])) {
        if (block.kind === 'message') expectFits(block.body, `${block.key} #${i}`);
      }
    }
  });

  it('the output-files list: any number of files with any names', () => {
    const next = rng(6);
    const file = (n: number): OutputFile => ({
      id: `f${n}`,
      filename: randomText(next, 2000) || 'f',
      mimeType: 'text/plain',
      size: n * 1000,
      downloadable: true,
    });
    for (let i = 0; i < 40; i++) {
      const attached = Array.from({ length: Math.floor(next() * 12) }, (_, n) => file(n));
      const skipped = Array.from({ length: Math.floor(next() ** 2 * 2000) }, (_, n) => ({
        file: file(n),
        reason: { kind: 'too_many' as const, maxFiles: 10 },
      }));
      if (attached.length + skipped.length === 0) continue;
      const comment = outputComment(attached, skipped);
      expectFits({ text: comment }, `files #${i}`);
      const listed = comment.split('\n').length - 1;
      if (listed < attached.length + skipped.length) expect(comment).toMatch(/… and \d+ more$/);
    }
  });

  it('the deny dialog for any tool name', () => {
    const next = rng(7);
    for (let i = 0; i < RUNS; i++) {
      const view = denyDialog({ team: 'T1', channel: 'C1', threadTs: '1.000001' }, `sevt_${i}`, randomText(next, 5000));
      expect(checkView(view)).toBeUndefined();
    }
  });
});

describe('cutting escaped text', () => {
  it('never leaves half an entity, half an emoji or half a <…> token, and marks the cut', () => {
    const next = rng(8);
    for (let i = 0; i < 500; i++) {
      const raw = randomText(next, 400);
      const max = 1 + Math.floor(next() * 300);
      const cut = fitMrkdwn(raw, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(LONE_SURROGATE.test(cut)).toBe(false);
      expect(BROKEN_ENTITY.test(cut)).toBe(false);
      const escaped = fitMrkdwn(raw, Number.MAX_SAFE_INTEGER);
      if (escaped.length > max) expect(cut.endsWith('…')).toBe(true);
      else expect(cut).toBe(escaped);
      expect(escaped.startsWith(cut.replace(/…$/, ''))).toBe(true);
    }
    expect(cutEscaped('ab<@U123>', 8)).toBe('ab…');
    expect(cutEscaped('a&amp;b', 5)).toBe('a…');
    expect(cutPlain('😀😀', 3)).toBe('😀…');
  });

  it('splits long escaped text into pieces that each fit, losing nothing when there is room', () => {
    const next = rng(9);
    for (let i = 0; i < 200; i++) {
      const text = fitMrkdwn(randomText(next, 9000), Number.MAX_SAFE_INTEGER);
      const pieces = splitEscaped(text, 3000, 3);
      for (const p of pieces) {
        expect(p.length).toBeLessThanOrEqual(3000);
        expect(LONE_SURROGATE.test(p)).toBe(false);
        expect(BROKEN_ENTITY.test(p)).toBe(false);
      }
      if (!pieces.at(-1)?.endsWith('…')) expect(pieces.join('')).toBe(text);
    }
  });
});

describe('fallbacks for a message Slack refuses', () => {
  it('first the plain text with the very same buttons, then the plain text alone; both within limits', () => {
    const card = renderApproval(
      { kind: 'approval', id: 'sevt_1', name: 'bash', input: { command: 'ls' }, turn: 1, state: 'pending' },
      undefined,
      'U1',
    );
    const [withButtons, line] = fallbackBodies(card) as [SlackBody, SlackBody];
    expectFits(withButtons, 'fallback with buttons');
    expectFits(line, 'plain line');
    expect(buttonsOf(withButtons)).toBe(buttonsOf(card));
    expect('blocks' in line && line.blocks).toBeFalsy();
    expect('text' in line && line.text).toContain('The agent wants to use bash and needs approval');
    // The Deny dialog reads the tool's name back from the text: the fallback keeps it.
    expect('text' in withButtons && /use (\S+) and needs approval/.exec(withButtons.text)?.[1]).toBe('bash');
    expect(fallbackBodies({ text: 'just words' })).toHaveLength(1);
  });

  it('a rendering over the limits is replaced before it reaches Slack', () => {
    const over: SlackBody = {
      text: 'The agent wants to use bash and needs approval',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } },
        { type: 'actions', elements: [{ type: 'button', action_id: 'approve_tool', text: { type: 'plain_text', text: 'Approve' }, value: 'e' }] },
      ],
    };
    const fitted = withinLimits(over);
    expect(checkMessage(fitted)).toBeUndefined();
    expect(buttonsOf(fitted)).toBe(buttonsOf(over));
    const fine: SlackBody = { text: 'ok' };
    expect(withinLimits(fine)).toBe(fine);
  });
});
